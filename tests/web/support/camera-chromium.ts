/**
 * Debian's Chromium with a fake camera (tests/web/support/fake-camera.ts): the harness's flags
 * (`CHROMIUM_ARGS`: headless, no sandbox, no GPU, no QUIC, nothing in the background) plus the
 * fake-capture flags, through playwright-core's `launchServer` so a hung close can be killed.
 * Playwright gives the launch a fresh temporary profile and deletes it on close.
 */
import { type LaunchedChromium, launchChromium } from '../../browser/launch-chromium.ts'
import { fakeCameraArgs } from './fake-camera.ts'

/** Chromium whose only camera plays `videoPath` (re-read at every capture start). */
export async function launchChromiumWithCamera(
  videoPath: string,
  timeoutMs: number,
): Promise<LaunchedChromium> {
  return await launchChromium(timeoutMs, fakeCameraArgs(videoPath))
}
