/**
 * Benchmark baseline only: an RTCRtpScriptTransform worker that passes every frame on unchanged,
 * so the calls benchmark can tell the cost of the encoded-transform mechanism itself (frames hop
 * to a worker and back) from the cost of SFrame. Never used by the product.
 */
interface PassthroughTransformer {
  readonly readable: ReadableStream
  readonly writable: WritableStream
}
const workerScope = globalThis as unknown as {
  addEventListener(
    type: 'rtctransform',
    listener: (event: Event & { transformer: PassthroughTransformer }) => void,
  ): void
}
workerScope.addEventListener('rtctransform', (event) => {
  event.transformer.readable.pipeTo(event.transformer.writable).catch(() => undefined)
})
