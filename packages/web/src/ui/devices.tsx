/**
 * This account's devices (from the key directory): which one this is, revoking another one
 * (removed from every conversation, then from the server), and approving a new device's link
 * code (DESIGN.md §7, device linking).
 */
import type { DeviceInfo, TacitClient } from '@tacit/client/client'
import { useEffect, useState } from 'preact/hooks'
import { describeError, formatTime } from './format.ts'
import { useAction } from './use-client.ts'

/** A link code as the new device shows it (the SDK's own cap is 4096 characters). */
export const MAX_LINK_CODE_INPUT_CHARS = 4096

export function Devices(props: { client: TacitClient }) {
  const { client } = props
  const [devices, setDevices] = useState<DeviceInfo[] | null>(null)
  const [code, setCode] = useState('')
  const [answer, setAnswer] = useState('')
  const [status, setStatus] = useState('')
  const load = useAction()
  const act = useAction()
  const reload = () => load.run(async () => setDevices(await client.devices()))
  useEffect(() => void reload(), [client])

  const revoke = async (d: DeviceInfo) => {
    if (!globalThis.confirm('Revoke this device? It will be removed from every conversation.')) return
    const ok = await act.run(async () => {
      await client.revokeDevice(d.deviceId)
      return true
    })
    if (ok) {
      // The list first, then the announcement, so a screen reader's "revoked" matches what shows.
      await reload()
      setStatus('Device revoked.')
    }
  }
  const approve = async (e: Event) => {
    e.preventDefault()
    const a = await act.run(() => client.approveDeviceLink(code.trim()))
    if (a !== undefined) {
      setAnswer(a)
      setCode('')
      setStatus('Device approved. Enter the answer below on the new device.')
      await reload()
    }
  }

  return (
    <section class="tc-page" aria-labelledby="devices-title">
      <h2 id="devices-title">Devices</h2>
      <p class="tc-lede">Every device has its own keys. Revoke a device you lost or no longer use.</p>
      {devices === null ? (
        <output class="tc-muted">{load.error === null ? 'Loading…' : describeError(load.error)}</output>
      ) : (
        <ul class="tc-devices" aria-label="Your devices">
          {devices.map((d) => (
            <li key={d.deviceId} data-device-id={d.deviceId}>
              <span class="tc-device-text">
                <span class="tc-mono">{d.memberId === '' ? d.deviceId : d.memberId}</span>
                <span class="tc-muted">Added {formatTime(d.createdAt, Date.now())}</span>
              </span>
              {d.current ? (
                <span class="tc-tag tc-ok">this browser</span>
              ) : (
                <button type="button" class="tc-danger" onClick={() => void revoke(d)}>
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <h3>Link a new device</h3>
      <form class="tc-inline-form" onSubmit={approve} aria-busy={act.busy}>
        <label for="link-code">Link code shown by the new device</label>
        <div class="tc-row">
          <input
            id="link-code"
            autocomplete="off"
            spellcheck={false}
            maxLength={MAX_LINK_CODE_INPUT_CHARS}
            value={code}
            onInput={(e) => setCode(e.currentTarget.value)}
            required
          />
          <button type="submit" class="tc-primary" disabled={act.busy}>
            Approve
          </button>
        </div>
      </form>
      {answer !== '' && (
        <>
          <label for="link-answer">Answer for the new device</label>
          <textarea id="link-answer" class="tc-mono" readOnly rows={3} value={answer} />
        </>
      )}
      <output class="tc-success">{act.busy ? 'Working…' : status}</output>
      {act.error !== null && (
        <p class="tc-error" role="alert">
          {describeError(act.error)}
        </p>
      )}
    </section>
  )
}
