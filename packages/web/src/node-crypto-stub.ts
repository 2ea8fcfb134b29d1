/**
 * Stands in for Node's `crypto` module in the browser build. `@hpke/common` and `mlkem` import it
 * only as a fallback when `globalThis.crypto` is missing, which never happens in the secure
 * contexts Tacit runs in; there, this empty module makes that fallback fail loudly.
 */
export const webcrypto = undefined
export default {}
