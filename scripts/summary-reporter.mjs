// A node:test reporter that prints only the closing line CI reads: "N passed, N failed".
// Counts leaf tests (suites are not tests); a failing suite hook counts as one failure.
export default async function* summaryReporter(source) {
  let passed = 0
  let failed = 0
  let skipped = 0
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue
    const { data } = event
    const isSuite = data.details?.type === 'suite'
    if (event.type === 'test:pass') {
      if (isSuite) continue
      if (data.skip || data.todo) skipped++
      else passed++
    } else if (!isSuite || data.details?.error?.failureType !== 'subtestsFailed') {
      failed++
    }
  }
  yield `\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`
}
