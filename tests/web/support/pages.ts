/**
 * Drives the web client's screens the way a person does: through labels and roles (so the
 * tests also check that the screens are labelled for assistive technology). Every wait is bounded.
 */
import type { Locator, Page } from 'playwright-core'

/** One step of the UI (a commit, an Argon2id unlock, a delivery) on a loaded machine. */
export const STEP_TIMEOUT_MS = 60_000

export const DESKTOP = { width: 1280, height: 800 } as const
export const PHONE = { width: 390, height: 844 } as const

/** Waits for the product screens' onboarding form (not the shell's fallback), then registers. */
export async function register(
  page: Page,
  o: { url: string; invite: string; handle: string; passphrase: string },
): Promise<void> {
  await page.goto(o.url, { timeout: STEP_TIMEOUT_MS })
  await onboardingShown(page)
  await fillOnboarding(page, o)
  await page.getByRole('button', { name: 'Create account' }).click()
  await conversationsShown(page)
}

/** The product screens' onboarding form (the shell shows its own plain one until they load). */
export async function onboardingShown(page: Page): Promise<void> {
  await page.locator('form[data-screen="onboarding"]').waitFor({ timeout: STEP_TIMEOUT_MS })
}

export async function fillOnboarding(
  page: Page,
  o: { invite: string; handle: string; passphrase: string },
): Promise<void> {
  await page.getByLabel('Invite code').fill(o.invite)
  await page.getByLabel('Your handle').fill(o.handle)
  await page.getByLabel('Passphrase', { exact: true }).fill(o.passphrase)
  await page.getByLabel('Passphrase again').fill(o.passphrase)
}

export async function conversationsShown(page: Page): Promise<void> {
  await page.getByRole('heading', { name: 'Conversations' }).waitFor({ timeout: STEP_TIMEOUT_MS })
}

/** The product screens' unlock form (the shell shows its own plain one until they load). */
export async function unlockShown(page: Page): Promise<void> {
  await page.locator('form[data-screen="unlock"]').waitFor({ timeout: STEP_TIMEOUT_MS })
}

export async function unlock(page: Page, passphrase: string): Promise<void> {
  await unlockShown(page)
  await page.locator('#unlock-passphrase').fill(passphrase)
  await page.getByRole('button', { name: 'Unlock', exact: true }).click()
}

/** Starts a conversation from the "New" dialog; it opens. */
export async function startConversation(page: Page, members: string, name = ''): Promise<void> {
  await page.getByRole('button', { name: 'New', exact: true }).click()
  await page.getByLabel('People').fill(members)
  if (name !== '') await page.getByLabel('Group name (optional)').fill(name)
  await page.getByRole('button', { name: 'Start', exact: true }).click()
  await page.getByRole('dialog').waitFor({ state: 'detached', timeout: STEP_TIMEOUT_MS })
  await page.getByRole('textbox', { name: 'Message' }).waitFor({ timeout: STEP_TIMEOUT_MS })
}

/** The conversation's button in the list (its accessible name starts with the title). */
export function conversationButton(page: Page, title: string): Locator {
  return page.locator('.tc-conversation', { has: page.locator('.tc-conversation-title', { hasText: title }) })
}

export async function openConversation(page: Page, title: string): Promise<void> {
  await conversationButton(page, title).first().click({ timeout: STEP_TIMEOUT_MS })
  await page.getByRole('heading', { name: title, level: 2 }).waitFor({ timeout: STEP_TIMEOUT_MS })
}

export async function sendText(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' })
  await box.fill(text)
  await box.press('Enter')
  await message(page, text).waitFor({ timeout: STEP_TIMEOUT_MS })
}

/** A message of the open conversation, by its text (or file name). */
export function message(page: Page, text: string): Locator {
  return page.locator('li.tc-msg', { hasText: text }).first()
}

/** Goes to a page of the top navigation (Chats, Verify, Devices, Settings). */
export async function navigate(page: Page, name: 'Chats' | 'Verify' | 'Devices' | 'Settings'): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('button', { name: new RegExp(`^${name}`) })
    .click()
}

/** The safety number on the verification screen for `handle`. */
export async function safetyNumberShown(page: Page, handle: string): Promise<string> {
  await page
    .getByRole('heading', { name: new RegExp(`^${handle}`), level: 3 })
    .waitFor({ timeout: STEP_TIMEOUT_MS })
  const digits = page.locator('.tc-safety-number')
  await digits.waitFor({ timeout: STEP_TIMEOUT_MS })
  return (await digits.getAttribute('data-digits')) ?? ''
}

/**
 * Controls and images with no accessible name in `scope` (the page by default), from the
 * accessibility tree Playwright computes (`ariaSnapshot`, the same accessible-name rules as a
 * screen reader's). Each entry is the snapshot line, e.g. `- button`.
 */
export async function unnamedControls(page: Page, scope: Locator = page.locator('body')): Promise<string[]> {
  const tree = await scope.ariaSnapshot({ timeout: STEP_TIMEOUT_MS })
  const roles = 'button|link|textbox|searchbox|combobox|checkbox|radio|switch|slider|spinbutton|img|dialog'
  const unnamed = new RegExp(`^\\s*- (${roles})(?=\\s*(\\[|:|$))`)
  return tree.split('\n').filter((line) => unnamed.test(line))
}

/**
 * Visible elements that stick out of the viewport sideways (a phone would need to scroll across
 * to see them), named by tag and class; the skip link, off-screen until focused, is not counted.
 */
export async function sidewaysOverflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth
    const out: string[] = []
    for (const e of document.querySelectorAll<HTMLElement>('body *')) {
      if (e.closest('.tc-skip')) continue
      const r = e.getBoundingClientRect()
      if (r.width === 0 || r.height === 0 || getComputedStyle(e).visibility === 'hidden') continue
      if (r.right > width + 1 || r.left < -1) out.push(`${e.tagName.toLowerCase()}.${e.className}`)
    }
    if (document.documentElement.scrollWidth > width)
      out.push(`page: ${document.documentElement.scrollWidth}px`)
    return out
  })
}
