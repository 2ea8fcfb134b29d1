/**
 * Benchmark baselines only, never used by the product: an RTCRtpScriptTransform worker that passes
 * every frame on unchanged, so the calls benchmark can tell the cost of the encoded-transform
 * mechanism itself (frames hop to a worker and back) from the cost of SFrame. With the option
 * `aesGcm: true` it also AES-GCM-encrypts a copy of every frame's bytes (and throws the result
 * away): the WebCrypto floor of any per-frame encryption in the worker. With `copy: true` it
 * replaces every frame's data with a copy of itself, no crypto: the floor of any transform that
 * rewrites frames (read the bytes out, write new bytes back).
 */
interface PassthroughTransformer {
  readonly readable: ReadableStream<{ data: ArrayBuffer }>
  readonly writable: WritableStream<{ data: ArrayBuffer }>
  readonly options: { readonly aesGcm?: boolean; readonly copy?: boolean } | undefined
}
const workerScope = globalThis as unknown as {
  addEventListener(
    type: 'rtctransform',
    listener: (event: Event & { transformer: PassthroughTransformer }) => void,
  ): void
}
const key = crypto.subtle.importKey('raw', new Uint8Array(32).fill(5), 'AES-GCM', false, ['encrypt'])
let counter = 0
workerScope.addEventListener('rtctransform', (event) => {
  const { readable, writable, options } = event.transformer
  if (options?.copy === true) {
    const transform = new TransformStream<{ data: ArrayBuffer }, { data: ArrayBuffer }>({
      transform(frame, controller) {
        frame.data = new Uint8Array(frame.data).slice().buffer
        controller.enqueue(frame)
      },
    })
    readable
      .pipeThrough(transform)
      .pipeTo(writable)
      .catch(() => undefined)
    return
  }
  if (options?.aesGcm !== true) {
    readable.pipeTo(writable).catch(() => undefined)
    return
  }
  const transform = new TransformStream<{ data: ArrayBuffer }, { data: ArrayBuffer }>({
    async transform(frame, controller) {
      const iv = new Uint8Array(12)
      new DataView(iv.buffer).setUint32(8, counter++)
      await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await key, frame.data)
      controller.enqueue(frame)
    },
  })
  readable
    .pipeThrough(transform)
    .pipeTo(writable)
    .catch(() => undefined)
})
