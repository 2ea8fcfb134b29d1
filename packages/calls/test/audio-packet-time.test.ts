import { registerCaseGroups } from '../../../tests/harness/node.ts'
import { audioPacketTimeCaseGroups } from './cases/audio-packet-time.cases.ts'

registerCaseGroups(audioPacketTimeCaseGroups())
