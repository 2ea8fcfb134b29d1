import { useState } from 'preact/hooks'
import { describeError } from '../describe-error.ts'

/** A form's submit: one run at a time, its error as text, busy while it runs. */
export function useSubmit<A extends unknown[]>(action: (...args: A) => Promise<void>) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const run = async (...args: A) => {
    if (busy) return
    setBusy(true)
    setError(null)
    try {
      await action(...args)
    } catch (e) {
      setError(describeError(e))
    } finally {
      setBusy(false)
    }
  }
  return { busy, error, run }
}
