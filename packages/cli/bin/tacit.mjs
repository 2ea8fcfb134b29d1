#!/usr/bin/env node
// The `tacit` command. The sources are TypeScript run through tsx's loader, registered here in
// this process (no second process, so signals and exit codes are the command's own).
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
