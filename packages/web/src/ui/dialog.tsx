/**
 * A modal dialog on the platform's `<dialog>`: `showModal()` makes the rest of the page inert,
 * keeps focus inside, and closes on Escape; focus returns to what opened it.
 */
import type { ComponentChildren, RefObject } from 'preact'
import { useEffect, useId, useRef } from 'preact/hooks'

export function Dialog(props: {
  title: string
  onClose: () => void
  children: ComponentChildren
  initialFocus?: RefObject<HTMLElement | null>
}) {
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  const onClose = useRef(props.onClose)
  onClose.current = props.onClose
  useEffect(() => {
    const dialog = ref.current
    if (!dialog) return
    const opener = document.activeElement as HTMLElement | null
    if (!dialog.open) dialog.showModal()
    props.initialFocus?.current?.focus()
    const cancel = (e: Event) => {
      e.preventDefault()
      onClose.current()
    }
    dialog.addEventListener('cancel', cancel)
    return () => {
      dialog.removeEventListener('cancel', cancel)
      if (dialog.open) dialog.close()
      // The page may have re-rendered the opener meanwhile (an alert banner above it, a list
      // refresh): then the element with the same id stands in for it.
      const target = opener?.isConnected ? opener : opener?.id ? document.getElementById(opener.id) : null
      target?.focus?.()
    }
  }, [props.initialFocus])
  return (
    <dialog ref={ref} class="tc-dialog" aria-labelledby={titleId}>
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  )
}
