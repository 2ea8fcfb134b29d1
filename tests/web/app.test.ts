/**
 * The web client end to end, in Debian's Chromium through playwright-core, against the real
 * server process: two browser contexts (alice, bob) register through the onboarding screen,
 * chat (delivery and read receipts, typing, an edit, a reaction), make a group with a CLI user
 * (carol) and manage its members, send files web → CLI and CLI → web, verify each other (equal
 * safety numbers, a wrong number refused), and a reload asks for the passphrase and keeps the
 * history. Screenshots of the main screens at desktop and phone widths are saved on the way
 * (to a temporary folder; `TACIT_UPDATE_SCREENSHOTS=1` writes them to docs/screenshots/).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import { type LaunchedChromium, launchChromium } from '../browser/launch-chromium.ts'
import { type E2eServer, REPO_ROOT, startE2eServer } from '../e2e/support/server.ts'
import { CliError, CliUser } from './support/cli.ts'
import {
  conversationButton,
  conversationsShown,
  DESKTOP,
  fillOnboarding,
  message,
  navigate,
  onboardingShown,
  openConversation,
  PHONE,
  register,
  STEP_TIMEOUT_MS,
  safetyNumberShown,
  sendText,
  sidewaysOverflow,
  startConversation,
  unlock,
  unlockShown,
  unnamedControls,
} from './support/pages.ts'
import { buildWebApp, type WebBuild } from './support/web-build.ts'

const SUITE_TIMEOUT_MS = 15 * 60_000
const TEST_TIMEOUT_MS = 5 * 60_000
/** Tab presses from the skip link to the "New" button (nav, list head): a handful in fact. */
const MAX_TABS = 20
/**
 * Tab presses inside an open chat: each shown message has a few action buttons, and when a list
 * refresh re-renders the focused conversation button focus restarts from the top of the page
 * (skip link, navigation, every conversation, the chat header's buttons), so the bound is wide.
 */
const MAX_TABS_IN_CHAT = 300
const LAUNCH_TIMEOUT_MS = 60_000
const PASSPHRASE = {
  alice: 'alice passphrase 1',
  bob: 'bob passphrase 22',
  carolBrowser: 'carol browser 333',
}
/** File sizes that end inside a 64 KiB chunk, so the short last chunk is exercised both ways. */
const WEB_FILE_BYTES = 3 * 64 * 1024 + 12_345
const CLI_FILE_BYTES = 2 * 64 * 1024 + 777
const SCREENS = ['onboarding', 'conversations', 'chat', 'verification', 'devices', 'settings'] as const

const screenshotDir =
  process.env.TACIT_UPDATE_SCREENSHOTS === '1'
    ? join(REPO_ROOT, 'docs/screenshots')
    : mkdtempSync(join(tmpdir(), 'tacit-web-screens-'))

/**
 * Starts watching the page for an element matching `selector` (a MutationObserver, so an element
 * that comes and goes between two polls still counts); `seen` tells whether one appeared since.
 */
async function watchFor(page: Page, selector: string): Promise<void> {
  await page.evaluate((sel) => {
    const w = window as unknown as { __tcSeen: boolean; __tcObserver?: MutationObserver }
    w.__tcObserver?.disconnect()
    w.__tcSeen = document.querySelector(sel) !== null
    w.__tcObserver = new MutationObserver(() => {
      if (document.querySelector(sel) !== null) w.__tcSeen = true
    })
    w.__tcObserver.observe(document.body, { childList: true, subtree: true, attributes: true })
  }, selector)
}

async function seen(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const w = window as unknown as { __tcSeen: boolean; __tcObserver?: MutationObserver }
    w.__tcObserver?.disconnect()
    return w.__tcSeen
  })
}

describe('web client in Chromium with a CLI user', { timeout: SUITE_TIMEOUT_MS }, () => {
  let build: WebBuild | null = null
  let server: E2eServer | null = null
  let chromium: LaunchedChromium | null = null
  let carol: CliUser | null = null
  let work = ''
  const contexts: BrowserContext[] = []
  let alice: Page
  let bob: Page
  const shots: string[] = []
  const pageErrors: string[] = []

  async function screenshot(page: Page, name: (typeof SCREENS)[number]): Promise<void> {
    // A still page: no hover, no focus left on a control by the last step.
    await page.mouse.move(0, 0)
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
    for (const [size, viewport] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ] as const) {
      await page.setViewportSize(viewport)
      // Phone: one pane at a time; the conversation list is the list pane.
      if (size === 'phone' && name === 'conversations') {
        const back = page.getByRole('button', { name: 'Back to conversations' })
        if (await back.isVisible()) await back.click()
      }
      const path = join(screenshotDir, `${name}-${size}.png`)
      await page.screenshot({ path, animations: 'disabled' })
      shots.push(path)
    }
    await page.setViewportSize(DESKTOP)
  }

  async function newPage(): Promise<Page> {
    const context = await chromium!.browser.newContext({ viewport: DESKTOP, acceptDownloads: true })
    contexts.push(context)
    const page = await context.newPage()
    page.setDefaultTimeout(STEP_TIMEOUT_MS)
    page.on('pageerror', (e) => pageErrors.push(e.message))
    // confirm() for removing a member: a person would click OK.
    page.on('dialog', (d) => void d.accept())
    return page
  }

  before(async () => {
    mkdirSync(screenshotDir, { recursive: true })
    work = mkdtempSync(join(tmpdir(), 'tacit-web-files-'))
    build = await buildWebApp()
    server = await startE2eServer({ extraArgs: ['--web-dir', build.dir] })
    chromium = await launchChromium(LAUNCH_TIMEOUT_MS)
    alice = await newPage()
    bob = await newPage()
    carol = new CliUser('carol', server.url)
  })

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined)
    await chromium?.close()
    await server?.stop()
    build?.remove()
    carol?.remove()
    if (work !== '') rmSync(work, { recursive: true, force: true })
  })

  it('registers two browser users and a CLI user', { timeout: TEST_TIMEOUT_MS }, async () => {
    await alice.goto(server!.url)
    await onboardingShown(alice)
    assert.deepEqual(await unnamedControls(alice), [], 'onboarding: controls without an accessible name')
    await fillOnboarding(alice, {
      invite: 'not-a-real-invite',
      handle: 'alice',
      passphrase: PASSPHRASE.alice,
    })
    await screenshot(alice, 'onboarding')
    // A bad invite is refused, and the form stays to try again.
    await alice.getByRole('button', { name: 'Create account' }).click()
    await alice.locator('.tc-error[role="alert"]').waitFor()
    await alice.getByLabel('Invite code').fill(await server!.invite())
    await alice.getByRole('button', { name: 'Create account' }).click()
    await conversationsShown(alice)
    await register(bob, {
      url: server!.url,
      invite: await server!.invite(),
      handle: 'bob',
      passphrase: PASSPHRASE.bob,
    })
    const created = await carol!.run<{ account: { handle: string } }>([
      'account',
      'create',
      '--invite',
      await server!.invite(),
      'carol',
    ])
    assert.equal(created.account.handle, 'carol')
  })

  it('chats 1:1 with receipts, typing, an edit and a reaction', { timeout: TEST_TIMEOUT_MS }, async () => {
    await startConversation(alice, 'bob')
    await sendText(alice, 'hello bob')
    // Bob sees an unread conversation, opens it; his reading sends a read receipt.
    const item = conversationButton(bob, 'alice')
    await bob.waitForFunction(
      () =>
        [...document.querySelectorAll('.tc-conversation')].some((b) =>
          /1 unread/.test(b.getAttribute('aria-label') ?? ''),
        ),
      undefined,
      { timeout: STEP_TIMEOUT_MS },
    )
    assert.match((await item.getAttribute('aria-label')) ?? '', /^alice, 1 unread$/)
    await openConversation(bob, 'alice')
    await message(bob, 'hello bob').waitFor()
    await message(alice, 'hello bob').locator('.tc-status[data-state="read"]').waitFor()
    assert.equal(await message(alice, 'hello bob').locator('.tc-status').textContent(), 'Read')
    await bob.waitForFunction(
      () =>
        !/unread/.test(document.querySelector('.tc-conversation')?.getAttribute('aria-label') ?? 'unread'),
      undefined,
      { timeout: STEP_TIMEOUT_MS },
    )

    // Typing shows on the other side, and goes when the message is sent.
    await bob.getByRole('textbox', { name: 'Message' }).fill('hi al')
    await alice.locator('.tc-typing', { hasText: 'bob is typing…' }).waitFor()
    await bob.getByRole('textbox', { name: 'Message' }).fill('hi alice')
    await bob.getByRole('textbox', { name: 'Message' }).press('Enter')
    await message(alice, 'hi alice').waitFor()
    await alice.waitForFunction(() => document.querySelector('.tc-typing')?.textContent === '', undefined, {
      timeout: STEP_TIMEOUT_MS,
    })

    // Alice edits her message; bob sees the new text marked edited.
    await message(alice, 'hello bob').getByRole('button', { name: 'Edit' }).click()
    await alice.getByRole('textbox', { name: 'Edit message' }).fill('hello bob, edited')
    await alice.getByRole('textbox', { name: 'Edit message' }).press('Enter')
    const edited = message(bob, 'hello bob, edited')
    await edited.waitFor()
    assert.match((await edited.textContent()) ?? '', /\(edited\)/)

    // Bob reacts; alice sees whose reaction it is.
    await edited.getByRole('button', { name: "React to alice's message" }).click()
    await bob.getByRole('button', { name: 'React 👍' }).click()
    await message(alice, 'hello bob, edited').getByRole('button', { name: '👍 from bob' }).waitFor()
  })

  it('makes a group with the CLI user, adds and removes members', { timeout: TEST_TIMEOUT_MS }, async () => {
    await startConversation(alice, 'bob', 'team')
    await alice.getByRole('button', { name: 'Members' }).click()
    await alice.getByLabel('Add people').fill('carol')
    await alice.getByRole('button', { name: 'Add', exact: true }).click()
    await alice.getByRole('dialog').getByText('Added carol.').waitFor()
    await alice.getByRole('dialog').getByRole('button', { name: 'Close' }).click()
    await sendText(alice, 'hello team')

    const read = await carol!.run<{ messages: { sender: string; text?: string }[] }>(['read', 'team'])
    assert.ok(read.messages.some((m) => m.sender === 'alice' && m.text === 'hello team'))
    await carol!.run(['send', 'team', 'hi from the cli'])
    await message(alice, 'hi from the cli').waitFor()
    // Bob has not opened the group yet: it is listed with its unread messages.
    await bob.waitForFunction(
      () =>
        [...document.querySelectorAll('.tc-conversation')].some((b) =>
          /^team, 2 unread$/.test(b.getAttribute('aria-label') ?? ''),
        ),
      undefined,
      { timeout: STEP_TIMEOUT_MS },
    )
    await screenshot(bob, 'conversations')
    await openConversation(bob, 'team')
    await message(bob, 'hi from the cli').waitFor()
    const list = await carol!.run<{ conversations: { name: string | null; members: string[] }[] }>([
      'group',
      'list',
    ])
    const team = list.conversations.find((c) => c.name === 'team')
    assert.deepEqual(team?.members, ['alice', 'bob', 'carol'])
  })

  it('sends files web → CLI and CLI → web, checked byte for byte', { timeout: TEST_TIMEOUT_MS }, async () => {
    const fromWeb = randomBytes(WEB_FILE_BYTES)
    await watchFor(alice, 'progress[aria-label="Sending notes.bin"]')
    await alice.locator('input[type="file"]').setInputFiles({
      name: 'notes.bin',
      mimeType: 'application/octet-stream',
      buffer: fromWeb,
    })
    // The file message appears, or the upload's error is the failure.
    await alice.locator('li.tc-msg:has-text("notes.bin"), .tc-uploads .tc-error').first().waitFor()
    const uploadError = alice.locator('.tc-uploads .tc-error')
    assert.equal(
      await uploadError.count(),
      0,
      `upload failed: ${await uploadError
        .first()
        .textContent()
        .catch(() => '')}`,
    )
    await alice.locator('.tc-uploads').waitFor({ state: 'detached' })
    assert.equal(await seen(alice), true, 'the upload showed its progress')
    const read = await carol!.run<{ messages: { id: string; file?: { name: string; size: number } }[] }>([
      'read',
      'team',
    ])
    const fileMessage = read.messages.find((m) => m.file?.name === 'notes.bin')
    assert.equal(fileMessage?.file?.size, fromWeb.length)
    const got = join(work, 'notes-at-carol.bin')
    await carol!.run(['file', 'get', 'team', fileMessage!.id, '-o', got])
    assert.ok(readFileSync(got).equals(fromWeb), 'the file carol got is the one alice sent')

    const fromCli = randomBytes(CLI_FILE_BYTES)
    const source = join(work, 'from-cli.bin')
    writeFileSync(source, fromCli)
    await carol!.run(['file', 'send', 'team', source])
    const card = message(bob, 'from-cli.bin')
    await card.waitFor()
    await watchFor(bob, 'progress[aria-label="Downloading from-cli.bin"]')
    const download = bob.waitForEvent('download', { timeout: STEP_TIMEOUT_MS })
    await card.getByRole('button', { name: 'Download from-cli.bin' }).click()
    const saved = await download
    assert.equal(saved.suggestedFilename(), 'from-cli.bin')
    // The browser runs behind a launched server: copy the download out of it.
    const path = join(work, 'from-cli-at-bob.bin')
    await saved.saveAs(path)
    assert.ok(readFileSync(path).equals(fromCli), 'the file bob saved is the one carol sent')
    assert.equal(await seen(bob), true, 'the download showed its progress')

    // Open on alice's screen, so read at once: no unread count stays on it.
    await message(alice, 'from-cli.bin').waitFor()
    await alice.waitForFunction(
      () =>
        document.querySelector('.tc-conversation[aria-current="true"]')?.getAttribute('aria-label') ===
        'team',
      undefined,
      { timeout: STEP_TIMEOUT_MS },
    )
    await screenshot(alice, 'chat')

    // Removing carol: the CLI sees the group as left.
    await alice.getByRole('button', { name: 'Members' }).click()
    await alice.getByRole('button', { name: 'Remove carol' }).click()
    await alice.getByRole('dialog').getByText('Removed carol.').waitFor()
    const members = await alice.getByRole('dialog').getByRole('list', { name: 'Members' }).textContent()
    assert.doesNotMatch(members ?? '', /carol/)
    await alice.getByRole('dialog').getByRole('button', { name: 'Close' }).click()
    const after = await carol!.run<{ conversations: { name: string | null; active: boolean }[] }>([
      'group',
      'list',
    ])
    assert.equal(after.conversations.find((c) => c.name === 'team')?.active, false)
  })

  it('chats 1:1 between the web and the CLI, both ways', { timeout: TEST_TIMEOUT_MS }, async () => {
    // carol's CLI starts the chat with alice's browser (a 1:1 chat to a handle is made on first send).
    await carol!.run(['send', 'alice', 'hello alice, from a terminal'])
    await alice.waitForFunction(
      () =>
        [...document.querySelectorAll('.tc-conversation')].some((b) =>
          /^carol, 1 unread$/.test(b.getAttribute('aria-label') ?? ''),
        ),
      undefined,
      { timeout: STEP_TIMEOUT_MS },
    )
    await openConversation(alice, 'carol')
    await message(alice, 'hello alice, from a terminal').waitFor()
    await sendText(alice, 'hello carol, from a browser')
    const read = await carol!.run<{ messages: { sender: string; text?: string }[] }>(['read', 'alice'])
    assert.deepEqual(
      read.messages.map((m) => [m.sender, m.text]),
      [
        ['carol', 'hello alice, from a terminal'],
        ['alice', 'hello carol, from a browser'],
      ],
    )
    // carol's CLI read it: alice's browser shows it read.
    await message(alice, 'hello carol, from a browser').locator('.tc-status[data-state="read"]').waitFor()
  })

  it(
    'verifies each other: equal safety numbers, a wrong one refused',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await openConversation(alice, 'bob')
      await alice.locator('.tc-chat-head').getByRole('button', { name: 'Verify', exact: true }).click()
      const aliceSees = await safetyNumberShown(alice, 'bob')
      await navigate(bob, 'Verify')
      await bob
        .getByRole('list', { name: 'Contacts' })
        .getByRole('button', { name: /^alice/ })
        .click()
      const bobSees = await safetyNumberShown(bob, 'alice')
      assert.match(aliceSees, /^\d{60}$/)
      assert.equal(aliceSees, bobSees)
      await alice.getByRole('img', { name: 'Your verification code for bob' }).waitFor()

      // A wrong number is refused and nothing is marked.
      const wrong = `${aliceSees.slice(0, 59)}${(Number(aliceSees[59]) + 1) % 10}`
      await bob.getByLabel(/^Their safety number/).fill(wrong)
      await bob.getByRole('button', { name: 'Check' }).click()
      await bob.locator('.tc-error', { hasText: 'NOT verified' }).waitFor()
      assert.equal(await bob.locator('h3 .tc-tag').textContent(), 'not verified')

      await bob.getByLabel(/^Their safety number/).fill(aliceSees)
      await bob.getByRole('button', { name: 'Check' }).click()
      await bob.getByText('alice is verified.').waitFor()
      await alice.getByLabel(/^Their safety number/).fill(bobSees)
      await alice.getByRole('button', { name: 'Check' }).click()
      await alice.getByText('bob is verified.').waitFor()
      assert.equal(await alice.locator('h3 .tc-tag').textContent(), 'verified')

      // The CLI user computes the same number with alice as alice's browser does for carol.
      await alice
        .getByRole('list', { name: 'Contacts' })
        .getByRole('button', { name: /^carol/ })
        .click()
      const aliceForCarol = await safetyNumberShown(alice, 'carol')
      const cli = await carol!.run<{ safetyNumber: string }>(['verify', 'alice'])
      assert.equal(cli.safetyNumber, aliceForCarol)
      await alice.getByRole('list', { name: 'Contacts' }).getByRole('button', { name: /^bob/ }).click()
      await safetyNumberShown(alice, 'bob')
      await screenshot(alice, 'verification')
    },
  )

  it('shows devices and settings', { timeout: TEST_TIMEOUT_MS }, async () => {
    await navigate(alice, 'Devices')
    const devices = alice.getByRole('list', { name: 'Your devices' })
    await devices.waitFor()
    assert.equal(await devices.getByRole('listitem').count(), 1)
    assert.equal(await devices.getByText('this browser').count(), 1)
    await screenshot(alice, 'devices')
    await navigate(alice, 'Settings')
    await alice.getByText('Identity key').waitFor()
    await screenshot(alice, 'settings')
  })

  it(
    'links a new CLI device from the Devices screen, which then gets messages, and revokes it',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const laptop = new CliUser('alice-laptop', server!.url)
      try {
        await navigate(alice, 'Devices')
        // A code that is not a link code is refused, and nothing is added.
        await alice.getByLabel('Link code shown by the new device').fill('tacit-link:not-a-code')
        await alice.getByRole('button', { name: 'Approve' }).click()
        await alice.locator('.tc-page .tc-error[role="alert"]').waitFor()
        const devices = alice.getByRole('list', { name: 'Your devices' })
        assert.equal(await devices.getByRole('listitem').count(), 1)

        const link = await laptop.beginLink()
        await alice.getByLabel('Link code shown by the new device').fill(link.code)
        await alice.getByRole('button', { name: 'Approve' }).click()
        const answerBox = alice.getByLabel('Answer for the new device')
        await answerBox.waitFor()
        const linked = await link.complete(await answerBox.inputValue())
        assert.equal(linked.handle, 'alice')
        await devices.getByRole('listitem').nth(1).waitFor()
        assert.equal(await devices.getByRole('listitem').count(), 2)
        assert.equal(await devices.getByRole('button', { name: 'Revoke' }).count(), 1)

        // The new device is in alice's conversations: bob's next message reaches it.
        await openConversation(bob, 'alice')
        await sendText(bob, 'to both of your devices')
        const read = await laptop.run<{ messages: { sender: string; text?: string }[] }>(['read', 'bob'])
        assert.ok(read.messages.some((m) => m.sender === 'bob' && m.text === 'to both of your devices'))

        // Revoke (confirm() is accepted as a person would): the list is back to this browser.
        await navigate(alice, 'Devices')
        await devices.getByRole('button', { name: 'Revoke' }).click()
        await alice.getByText('Device revoked.').waitFor()
        await devices.getByRole('listitem').nth(1).waitFor({ state: 'detached' })
        assert.equal(await devices.getByRole('listitem').count(), 1)
        assert.equal(await devices.getByText('this browser').count(), 1)
        // The revoked device can no longer use the account.
        await assert.rejects(laptop.run(['devices', 'list']), CliError)
      } finally {
        laptop.remove()
      }
    },
  )

  it(
    'links a new browser to the CLI user’s account: it gets the conversations and new messages',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const page = await newPage()
      await page.goto(server!.url)
      await onboardingShown(page)
      await page.getByRole('button', { name: 'I already use Tacit on another device' }).click()
      await page.getByLabel('Passphrase for this browser').fill(PASSPHRASE.carolBrowser)
      await page.getByLabel('Passphrase again').fill(PASSPHRASE.carolBrowser)
      await page.getByRole('button', { name: 'Show the link code' }).click()
      const code = await page.getByLabel('Link code for your other device').inputValue()
      assert.match(code, /^tacit-link1\./)
      assert.deepEqual(await unnamedControls(page), [], 'link screen: controls without an accessible name')

      // An answer that is not one is refused, and the link stays open to try again.
      await page.getByLabel('Answer from your other device').fill('tacit-answer1.not-an-answer')
      await page.getByRole('button', { name: 'Finish linking' }).click()
      await page.locator('#link-error').waitFor()

      // carol's CLI approves the browser's code and prints the answer.
      const approved = await carol!.run<{ answer: string }>(['account', 'link', '--approve', code])
      await page.getByLabel('Answer from your other device').fill(approved.answer)
      await page.getByRole('button', { name: 'Finish linking' }).click()
      await conversationsShown(page)

      // The browser is carol's: her 1:1 with alice is there (earlier messages stay unreadable to a
      // device added later, as MLS intends), and alice's next message reaches both her devices.
      await openConversation(page, 'alice')
      await openConversation(alice, 'carol')
      await sendText(alice, 'to your terminal and your new browser')
      await message(page, 'to your terminal and your new browser').waitFor()
      const read = await carol!.run<{ messages: { sender: string; text?: string }[] }>(['read', 'alice'])
      assert.ok(
        read.messages.some((m) => m.sender === 'alice' && m.text === 'to your terminal and your new browser'),
      )
      const devices = await carol!.run<{ devices: unknown[] }>(['devices', 'list'])
      assert.equal(devices.devices.length, 2)
      await page.context().close()
    },
  )

  it(
    'is usable by keyboard: skip link, tab order, dialog, focus ring',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await navigate(bob, 'Chats')
      // The skip link is the first stop; hidden off-screen until it has focus.
      const skip = bob.getByRole('link', { name: 'Skip to content' })
      await skip.focus()
      assert.ok(((await skip.boundingBox())?.x ?? -1) >= 0, 'the focused skip link is on screen')
      const focused = () =>
        bob.evaluate(() => {
          const e = document.activeElement as HTMLElement | null
          return {
            text: e?.textContent?.trim() ?? '',
            outline: e ? getComputedStyle(e).outlineStyle : 'none',
          }
        })
      assert.equal((await focused()).text, 'Skip to content')
      let found = false
      for (let i = 0; i < MAX_TABS && !found; i++) {
        await bob.keyboard.press('Tab')
        found = (await focused()).text === 'New'
      }
      assert.ok(found, `"New" is reachable with Tab within ${MAX_TABS} presses`)
      assert.notEqual((await focused()).outline, 'none', 'the focused control shows a focus ring')
      await bob.keyboard.press('Enter')
      await bob.getByRole('dialog', { name: 'New conversation' }).waitFor()
      assert.equal(await bob.evaluate(() => document.activeElement?.id), 'new-members')
      await bob.keyboard.press('Escape')
      await bob.getByRole('dialog').waitFor({ state: 'detached' })
      // Focus goes back when the dialog's effect is cleaned up, right after it leaves the page.
      await bob
        .waitForFunction(() => document.activeElement?.textContent?.trim() === 'New', undefined, {
          timeout: STEP_TIMEOUT_MS,
        })
        .catch(() => undefined)
      assert.equal((await focused()).text, 'New', 'focus returns to what opened the dialog')
    },
  )

  it(
    'chats by keyboard alone: open a conversation, send, reach a message action, react',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const text = 'typed with keys only'
      const focusedText = () => bob.evaluate(() => document.activeElement?.textContent?.trim() ?? '')
      await conversationButton(bob, 'alice').first().focus()
      await bob.keyboard.press('Enter')
      await bob.getByRole('heading', { name: 'alice', level: 2 }).waitFor()
      let inComposer = false
      for (let i = 0; i < MAX_TABS_IN_CHAT && !inComposer; i++) {
        await bob.keyboard.press('Tab')
        // The composer is the textarea labelled "Message" (a <label for>).
        inComposer = await bob.evaluate(() => document.activeElement?.id === 'composer')
      }
      assert.ok(inComposer, `the composer is reachable with Tab within ${MAX_TABS_IN_CHAT} presses`)
      await bob.keyboard.type(text)
      await bob.keyboard.press('Enter')
      await message(bob, text).waitFor()

      // Back into the message log: the new message's actions take focus and show while they have it.
      let onReact = false
      for (let i = 0; i < MAX_TABS_IN_CHAT && !onReact; i++) {
        await bob.keyboard.press('Shift+Tab')
        onReact =
          (await focusedText()) === 'React' &&
          (await bob.evaluate(
            (t) => document.activeElement?.closest('li.tc-msg')?.textContent?.includes(t) === true,
            text,
          ))
      }
      assert.ok(onReact, `the new message's React button is reachable with Shift+Tab`)
      // Shown while one of them has focus (after a 0.1 s fade).
      await bob.waitForFunction(
        () => getComputedStyle(document.activeElement!.closest('.tc-msg-actions')!).opacity === '1',
        undefined,
        { timeout: STEP_TIMEOUT_MS },
      )
      await bob.keyboard.press('Enter')
      // The picker opens with focus on its first reaction (focus moves after the picker renders).
      await bob.waitForFunction(
        () => document.activeElement?.getAttribute('aria-label') === 'React 👍',
        undefined,
        {
          timeout: STEP_TIMEOUT_MS,
        },
      )
      await bob.keyboard.press('Enter')
      await message(bob, text).getByRole('button', { name: '👍 from bob' }).waitFor()
    },
  )

  it(
    'works at phone width one pane at a time, nothing off screen, every control named',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const check = async (screen: string) => {
        assert.deepEqual(await unnamedControls(bob), [], `${screen}: controls without an accessible name`)
        assert.deepEqual(await sidewaysOverflow(bob), [], `${screen}: wider than a phone`)
      }
      await bob.setViewportSize(PHONE)
      try {
        await navigate(bob, 'Chats')
        const list = bob.getByRole('complementary', { name: 'Conversation list' })
        await list.waitFor()
        assert.equal(await bob.locator('#main').isVisible(), false, 'the list alone on a phone')
        await check('conversations')

        // The chat replaces the list; a message goes out from there; back returns to the list.
        await openConversation(bob, 'alice')
        assert.equal(await list.isVisible(), false, 'the chat alone on a phone')
        await sendText(bob, 'sent from a phone')
        await check('chat')
        await bob.getByRole('button', { name: 'Members' }).click()
        const dialog = bob.getByRole('dialog')
        await dialog.getByRole('list', { name: 'Members' }).waitFor()
        assert.deepEqual(await unnamedControls(bob, dialog), [], 'members dialog: unnamed controls')
        assert.deepEqual(await sidewaysOverflow(bob), [], 'members dialog: wider than a phone')
        await bob.keyboard.press('Escape')
        await dialog.waitFor({ state: 'detached' })
        await bob.getByRole('button', { name: 'Back to conversations' }).click()
        await list.waitFor()
        await openConversation(alice, 'bob')
        await message(alice, 'sent from a phone').waitFor()

        for (const screen of ['Verify', 'Devices', 'Settings'] as const) {
          await navigate(bob, screen)
          await bob.getByRole('heading', { level: 2 }).first().waitFor()
          if (screen === 'Verify') {
            await bob
              .getByRole('list', { name: 'Contacts' })
              .getByRole('button', { name: /^alice/ })
              .click()
            await safetyNumberShown(bob, 'alice')
          }
          await check(screen)
        }
      } finally {
        await bob.setViewportSize(DESKTOP)
      }
    },
  )

  it(
    'asks for the passphrase after a reload and keeps the history',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await alice.reload()
      await unlockShown(alice)
      assert.equal(await alice.getByRole('heading', { name: 'Conversations' }).count(), 0)
      assert.deepEqual(await unnamedControls(alice), [], 'unlock: controls without an accessible name')
      await unlock(alice, 'not the passphrase')
      await alice.locator('#unlock-error').waitFor()
      await unlock(alice, PASSPHRASE.alice)
      await conversationsShown(alice)
      await openConversation(alice, 'bob')
      await message(alice, 'hello bob, edited').waitFor()
      await message(alice, 'hi alice').waitFor()
      assert.equal(await message(alice, 'hello bob, edited').locator('.tc-status').textContent(), 'Read')
      await message(alice, 'hello bob, edited').getByRole('button', { name: '👍 from bob' }).waitFor()
      // Still connected after the unlock: a new message from bob arrives.
      await openConversation(bob, 'alice')
      await sendText(bob, 'after your reload')
      await message(alice, 'after your reload').waitFor()
    },
  )

  it('lock now, from settings, returns to the unlock screen', { timeout: TEST_TIMEOUT_MS }, async () => {
    await navigate(bob, 'Settings')
    await bob.getByRole('button', { name: 'Lock now' }).click()
    await unlockShown(bob)
    await unlock(bob, PASSPHRASE.bob)
    await conversationsShown(bob)
  })

  it(
    'changes the passphrase in settings: the old one no longer unlocks, the new one does',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const next = 'bob second passphrase'
      await navigate(bob, 'Settings')
      // A wrong current passphrase is refused and changes nothing.
      await bob.getByLabel('Current passphrase').fill('not bob passphrase')
      await bob.getByLabel('New passphrase', { exact: true }).fill(next)
      await bob.getByLabel('New passphrase again').fill(next)
      await bob.getByRole('button', { name: 'Change passphrase' }).click()
      await bob.locator('.tc-page .tc-error[role="alert"]').waitFor()
      await bob.getByLabel('Current passphrase').fill(PASSPHRASE.bob)
      await bob.getByRole('button', { name: 'Change passphrase' }).click()
      await bob.getByText('Passphrase changed.').waitFor()

      await bob.getByRole('button', { name: 'Lock now' }).click()
      await unlock(bob, PASSPHRASE.bob)
      await bob.locator('#unlock-error').waitFor()
      await unlock(bob, next)
      await conversationsShown(bob)
      await openConversation(bob, 'alice')
      await message(bob, 'after your reload').waitFor()
    },
  )

  it('saved a screenshot of every main screen at both widths, and no page error', () => {
    assert.equal(shots.length, SCREENS.length * 2)
    for (const name of SCREENS) {
      for (const size of ['desktop', 'phone']) {
        const path = join(screenshotDir, `${name}-${size}.png`)
        assert.ok(statSync(path).size > 1000, `${name}-${size}.png is not empty`)
      }
    }
    assert.deepEqual(pageErrors, [])
  })
})
