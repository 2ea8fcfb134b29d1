/**
 * Node adapter for file transfer (`FilePlatform`, src/transfer/ports.ts): files to send are read
 * from disk in 64 KiB pieces from any offset; received files are written by `src/files/`'s
 * `decryptToPath` — to `<destination>.tacit-part`, fsynced and renamed into place only after
 * the last chunk and the content digest checked, continued from its last whole chunk after an
 * interruption. Node-only: browsers bring their own `FilePlatform`.
 */
import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { FILE_CHUNK_BYTES } from '@tacit/protocol/files/format'
import { ClientError } from '../errors.ts'
import { decryptToPath } from '../files/decrypt-file.ts'
import type { FilePlatform, FileSource } from '../transfer/ports.ts'

export function nodeFiles(): FilePlatform {
  return {
    async openSource(path: string): Promise<FileSource> {
      let absolute: string
      let info: Awaited<ReturnType<typeof stat>>
      try {
        absolute = await realpath(path)
        info = await stat(absolute)
      } catch (cause) {
        throw new ClientError('usage', 'the file to send cannot be read', { cause })
      }
      if (!info.isFile()) throw new ClientError('usage', 'the file to send is not a regular file')
      return {
        size: info.size,
        name: basename(absolute),
        // A changed file (size, modification time, a new file under the same name) is a new upload.
        identity: `node\0${absolute}\0${info.size}\0${info.mtimeMs}\0${info.ino}`,
        read: (offset, signal) =>
          createReadStream(absolute, {
            start: offset,
            highWaterMark: FILE_CHUNK_BYTES,
            ...(signal ? { signal } : {}),
          }),
      }
    },
    decryptTo(backend, destination, secrets, blob, options) {
      return decryptToPath(backend, blob, secrets, destination, {
        resume: true,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      })
    },
  }
}
