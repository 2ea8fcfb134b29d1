/**
 * Contact verification (docs/protocol/verification.md): both people see the same 60-digit safety
 * number and each shows a QR code. Scanning the other's code with the camera (`./qr-scan.ts`:
 * camera frames → `jsqr` → the code's bytes), pasting it as text or typing their digits checks it
 * against the keys held here (the SDK compares in constant time); only a match marks the contact
 * verified. A mismatch changes nothing and says so plainly.
 */
import type { ContactInfo, SafetyNumberInfo, TacitClient } from '@tacit/client/client'
import { useEffect, useRef, useState } from 'preact/hooks'
import { describeError, formatTime, normaliseDigits } from './format.ts'
import { QrCode } from './qr-code.tsx'
import { frameOf, isVerificationCode, loadQrReader } from './qr-scan.ts'
import { useAction } from './use-client.ts'

/** How long the camera looks for a code before it gives up (the user can start it again). */
export const SCAN_TIMEOUT_MS = 60_000
/** Frames examined per second while scanning: enough to feel instant, little CPU. */
const SCAN_FRAMES_PER_SECOND = 5

function hasCamera(): boolean {
  return typeof navigator.mediaDevices?.getUserMedia === 'function'
}

export function Verification(props: {
  client: TacitClient
  knownHandles: readonly string[]
  initialHandle: string | null
}) {
  const { client } = props
  const [contacts, setContacts] = useState<ContactInfo[] | null>(null)
  const [handle, setHandle] = useState<string | null>(props.initialHandle)
  const reload = () =>
    client
      .contacts()
      .then(setContacts)
      .catch(() => setContacts([]))
  useEffect(() => void reload(), [client])
  useEffect(() => setHandle(props.initialHandle), [props.initialHandle])

  const verified = new Map((contacts ?? []).map((c) => [c.handle, c]))
  const handles = [...new Set([...props.knownHandles, ...(contacts ?? []).map((c) => c.handle)])]
    .filter((h) => h !== client.handle)
    .sort()

  return (
    <section class="tc-page" aria-labelledby="verify-title">
      <h2 id="verify-title">Verify contacts</h2>
      <p class="tc-lede">
        Compare safety numbers in person or over a call you trust. If they match, nobody — not even the server
        — is in the middle.
      </p>
      <div class="tc-split">
        <ul class="tc-contacts" aria-label="Contacts">
          {handles.length === 0 && <li class="tc-muted">No contacts yet.</li>}
          {handles.map((h) => (
            <li key={h}>
              <button
                type="button"
                aria-current={h === handle ? 'true' : undefined}
                onClick={() => setHandle(h)}
              >
                <span>{h}</span>
                {verified.get(h)?.verified ? (
                  <span class="tc-tag tc-ok">verified</span>
                ) : (
                  <span class="tc-tag">not verified</span>
                )}
              </button>
            </li>
          ))}
        </ul>
        {handle !== null && (
          <VerifyContact
            key={handle}
            client={client}
            handle={handle}
            contact={verified.get(handle) ?? null}
            onChanged={reload}
          />
        )}
      </div>
    </section>
  )
}

function VerifyContact(props: {
  client: TacitClient
  handle: string
  contact: ContactInfo | null
  onChanged: () => void
}) {
  const { client, handle } = props
  const [info, setInfo] = useState<SafetyNumberInfo | null>(null)
  const [typed, setTyped] = useState('')
  const [scanning, setScanning] = useState(false)
  const [result, setResult] = useState('')
  const load = useAction()
  const act = useAction()
  useEffect(() => {
    void load.run(async () => setInfo(await client.safetyNumber(handle)))
  }, [client, handle, load.run])

  const check = async (scanned: Uint8Array | string) => {
    setResult('')
    const contact = await act.run(() => client.verifyContact(handle, scanned))
    if (contact) {
      setResult(`${handle} is verified.`)
      setTyped('')
      props.onChanged()
    }
  }
  const submitDigits = (e: Event) => {
    e.preventDefault()
    const input = typed.trim()
    void check(normaliseDigits(input) ?? input)
  }
  const markVerified = async () => {
    if (!globalThis.confirm(`Did you compare all 60 digits with ${handle} and they matched?`)) return
    const contact = await act.run(() => client.markVerified(handle))
    if (contact) {
      setResult(`${handle} is verified.`)
      props.onChanged()
    }
  }
  const verified = props.contact?.verified === true

  return (
    <section class="tc-verify" aria-labelledby="verify-contact-title">
      <h3 id="verify-contact-title">
        {handle}{' '}
        {verified ? <span class="tc-tag tc-ok">verified</span> : <span class="tc-tag">not verified</span>}
      </h3>
      {verified && props.contact?.verifiedAt != null && (
        <p class="tc-muted">Verified {formatTime(props.contact.verifiedAt, Date.now())}.</p>
      )}
      {load.error !== null && (
        <p class="tc-error" role="alert">
          {describeError(load.error)}
        </p>
      )}
      {info && (
        <>
          <h4>Safety number</h4>
          <p class="tc-safety-number" data-digits={info.digits}>
            {info.groups.map((g, i) => (
              <span key={i}>{g}</span>
            ))}
          </p>
          <div class="tc-qr-wrap">
            <QrCode payload={info.qrPayload} label={`Your verification code for ${handle}`} />
            <p class="tc-hint">Let {handle} scan this with their Tacit.</p>
          </div>
          <details class="tc-code-text">
            <summary>Show your code as text</summary>
            <p class="tc-mono tc-break" data-code={info.qrText}>
              {info.qrText}
            </p>
          </details>
          <h4>Check theirs</h4>
          {hasCamera() &&
            (scanning ? (
              <Scanner
                onCode={(bytes) => {
                  setScanning(false)
                  void check(bytes)
                }}
                onStop={() => setScanning(false)}
              />
            ) : (
              <button
                type="button"
                onClick={() => {
                  // A new attempt: the last one's outcome no longer applies.
                  setResult('')
                  act.clear()
                  setScanning(true)
                }}
              >
                Scan their code
              </button>
            ))}
          <form class="tc-inline-form" onSubmit={submitDigits}>
            <label for="their-digits">Their safety number (or their code as text)</label>
            <div class="tc-row">
              <input
                id="their-digits"
                inputMode="numeric"
                autocomplete="off"
                spellcheck={false}
                value={typed}
                onInput={(e) => setTyped(e.currentTarget.value)}
                required
              />
              <button type="submit" class="tc-primary" disabled={act.busy}>
                Check
              </button>
            </div>
          </form>
          {!verified && (
            <button type="button" onClick={() => void markVerified()} disabled={act.busy}>
              We compared the numbers: mark verified
            </button>
          )}
        </>
      )}
      <output class="tc-success">{result}</output>
      {act.error !== null && (
        <p class="tc-error" role="alert">
          {describeError(act.error)}
        </p>
      )}
    </section>
  )
}

function Scanner(props: { onCode: (bytes: Uint8Array) => void; onStop: () => void }) {
  const video = useRef<HTMLVideoElement>(null)
  const [status, setStatus] = useState('Starting the camera…')
  const [error, setError] = useState('')
  const onCode = useRef(props.onCode)
  onCode.current = props.onCode
  useEffect(() => {
    let stream: MediaStream | null = null
    let timer: ReturnType<typeof setInterval> | null = null
    let stopped = false
    const canvas = document.createElement('canvas')
    const stop = () => {
      stopped = true
      if (timer !== null) clearInterval(timer)
      for (const t of stream?.getTracks() ?? []) t.stop()
    }
    const start = async () => {
      // The decoder chunk loads while the camera starts (a failure is reported by the await below).
      const reader = loadQrReader()
      reader.catch(() => undefined)
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } })
      const element = video.current
      if (stopped || element === null) return stop()
      element.srcObject = stream
      await element.play()
      const read = await reader
      if (stopped) return
      setStatus('Looking for their code…')
      const deadline = Date.now() + SCAN_TIMEOUT_MS
      timer = setInterval(() => {
        if (stopped) return
        if (Date.now() > deadline) {
          stop()
          setStatus('')
          setError('No code found. Try again, or type the digits.')
          return
        }
        const frame = frameOf(element, canvas)
        const bytes = frame === null ? null : read(frame)
        if (bytes === null) return
        if (!isVerificationCode(bytes)) {
          setStatus('That QR code is not a Tacit verification code. Still looking…')
          return
        }
        stop()
        onCode.current(bytes)
      }, 1000 / SCAN_FRAMES_PER_SECOND)
    }
    start().catch(() => {
      stop()
      setStatus('')
      setError('The camera is not available. Type the digits instead.')
    })
    return stop
  }, [])
  return (
    <div class="tc-scanner">
      <video ref={video} muted playsInline aria-label="Camera view: point it at their code" />
      <output class="tc-muted" aria-live="polite">
        {status}
      </output>
      {error !== '' && (
        <p class="tc-error" role="alert">
          {error}
        </p>
      )}
      <button type="button" onClick={props.onStop}>
        Stop scanning
      </button>
    </div>
  )
}
