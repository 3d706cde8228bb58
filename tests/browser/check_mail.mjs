// Opens rendered verification mails (HTML files) in the system's headless Chromium at a phone's width and checks
// them; takes a full-page screenshot of each.
//
//   bash tests/browser/install.sh                                   # once: chromium, fonts-noto-cjk, playwright-core
//   node tests/browser/check_mail.mjs --shots <dir> <file.html>...
//
// Where playwright-core comes from: createRequire() from $BROWSER_TOOLS_DIR (default <repo>/.tools/browser, where
// install.sh runs `npm ci` of tests/browser/package-lock.json), like sdk-node/stack.js does for .tools/sdk-node.
// No NODE_PATH needed (NODE_PATH would not work here anyway: ES modules' `import` ignores it). playwright-core never
// downloads a browser: it drives $CHROMIUM (default /usr/bin/chromium, Debian's package).
//
// Per file, at 375x800 CSS px (deviceScaleFactor 1):
//   - the mail's action: a link whose href contains `verify-email?Token=`, or, for code mails (file names with
//     `-Code-`), an element whose text is a 6-digit code;
//   - no horizontal overflow: document scrollWidth <= 375, and no element's or text's right edge beyond 375.5;
//   - <html lang="zh...">: every element with Han characters in its own text is drawn with a CJK platform font
//     (CSS.getPlatformFontsForNode over CDP) whose glyphs cover at least those characters (so no tofu boxes);
//   - a full-page screenshot <shots>/<basename>.png.
// Prints `ok <file>: ...` or `FAIL <file>: reason` per file; exit status 1 if any failed, 2 on bad usage.
// Bounded: 30 s per page, 120 s in all; the browser is always closed. Requests other than file: and data: are
// refused (a preview never goes to the network), and counted in the output.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOOLS = process.env.BROWSER_TOOLS_DIR || path.join(ROOT, '.tools', 'browser');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const WIDTH = 375;
const HEIGHT = 800;
const PAGE_TIMEOUT_MS = 30_000;
const TOTAL_TIMEOUT_MS = 120_000;
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const HAN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;
const CJK_FONT = /CJK|Noto Sans SC|Noto Serif CJK|WenQuanYi|Droid Sans Fallback/i;

function usage(message) {
  if (message) console.error(`check_mail.mjs: ${message}`);
  console.error('usage: node tests/browser/check_mail.mjs --shots <dir> <file.html>...');
  process.exit(2);
}

function parseArgs(argv) {
  let shots = null;
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--shots') {
      shots = argv[++i];
      if (!shots) usage('--shots needs a directory');
    } else if (argv[i].startsWith('--shots=')) {
      shots = argv[i].slice('--shots='.length);
    } else if (argv[i].startsWith('--')) {
      usage(`unknown option ${argv[i]}`);
    } else {
      files.push(argv[i]);
    }
  }
  if (!shots) usage('--shots <dir> is required');
  if (files.length === 0) usage('no HTML files given');
  return { shots, files };
}

function loadPlaywright() {
  try {
    return createRequire(path.join(TOOLS, 'package.json'))('playwright-core');
  } catch (error) {
    console.error(`check_mail.mjs: cannot load playwright-core from ${TOOLS} (${error.code || error.message}); ` +
      'run `bash tests/browser/install.sh` first');
    process.exit(2);
  }
}

/** `promise`, or a rejection after `ms` milliseconds. */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const snippet = (text, n = 60) => {
  const flat = String(text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > n ? `${flat.slice(0, n)}…` : flat;
};

// -----------------------------------------------------------------------------------------------------------
// The checks of one page. Each returns a detail string, or throws an Error whose message is the reason.

async function checkAction(page, file) {
  const isCode = path.basename(file).includes('-Code-');
  const found = await page.evaluate(() => {
    const link = [...document.querySelectorAll('a[href]')]
      .map((a) => a.getAttribute('href'))
      .find((href) => href.includes('verify-email?Token='));
    const code = [...document.body.querySelectorAll('*')]
      .map((el) => el.innerText?.trim())
      .find((text) => /^\d{6}$/.test(text ?? ''));
    return { link: link ?? null, code: code ?? null };
  });
  if (isCode) {
    if (!found.code) throw new Error('no element whose text is a 6-digit code (a -Code- mail)');
    return `code ${found.code}`;
  }
  if (!found.link) throw new Error('no link whose href contains verify-email?Token=');
  return `link ${found.link.replace(/(Token=[^&#]{8})[^&#]+/, '$1…')}`;
}

async function checkOverflow(page) {
  const result = await page.evaluate((limit) => {
    const describe = (el) => `<${el.tagName.toLowerCase()}> "${(el.innerText ?? el.textContent ?? '')
      .replace(/\s+/g, ' ').trim().slice(0, 50)}"`;
    let worst = null;
    const consider = (right, what) => {
      if (right > limit + 0.5 && (!worst || right > worst.right)) worst = { right, what };
    };
    for (const el of document.querySelectorAll('body, body *')) {
      const rect = el.getBoundingClientRect();
      if (rect.width > 0 || rect.height > 0) consider(rect.right, describe(el));
    }
    // Text can stick out of its own box (a long word that does not wrap): measure the text itself too.
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.nodeValue.trim()) continue;
      range.selectNodeContents(node);
      const rect = range.getBoundingClientRect();
      if (rect.width > 0) consider(rect.right, `text in ${describe(node.parentElement)}`);
    }
    return {
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
      worst,
    };
  }, WIDTH);
  const problems = [];
  if (result.scrollWidth > WIDTH) problems.push(`scrollWidth ${result.scrollWidth} > ${WIDTH}`);
  if (result.worst) problems.push(`worst: ${result.worst.what} ends at x=${result.worst.right.toFixed(1)}`);
  if (problems.length) throw new Error(`horizontal overflow: ${problems.join('; ')}`);
  return `width ${result.scrollWidth}/${WIDTH}`;
}

async function checkCjkFonts(page) {
  const lang = await page.evaluate(() => document.documentElement.lang || '');
  if (!lang.toLowerCase().startsWith('zh')) return null;
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
    // Every element with Han characters in its own (direct) text.
    const targets = [];
    const walk = (node) => {
      const own = (node.children ?? []).filter((c) => c.nodeType === 3).map((c) => c.nodeValue).join('');
      if (node.nodeType === 1 && HAN.test(own) && !['TITLE', 'SCRIPT', 'STYLE'].includes(node.nodeName)) {
        targets.push({ nodeId: node.nodeId, name: node.nodeName.toLowerCase(), text: own });
      }
      for (const child of node.children ?? []) walk(child);
      if (node.contentDocument) walk(node.contentDocument);
    };
    walk(root);
    if (targets.length === 0) throw new Error(`lang="${lang}" but no element with Han characters`);
    const used = new Map(); // familyName -> glyphs, over all targets
    for (const target of targets) {
      const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId: target.nodeId });
      for (const f of fonts) used.set(f.familyName, (used.get(f.familyName) ?? 0) + f.glyphCount);
      const cjkGlyphs = fonts.filter((f) => CJK_FONT.test(f.familyName)).reduce((n, f) => n + f.glyphCount, 0);
      const han = [...target.text].filter((ch) => HAN.test(ch)).length;
      if (cjkGlyphs === 0 || cjkGlyphs < han) {
        const drawn = fonts.map((f) => `${f.familyName} (${f.glyphCount})`).join(', ') || 'no font';
        throw new Error(`<${target.name}> "${snippet(target.text, 30)}": ${han} Han characters, drawn with ${drawn}; ` +
          `want a CJK font (${CJK_FONT.source}) covering them`);
      }
    }
    const names = [...used].map(([name, glyphs]) => `${name} (${glyphs})`).join(', ');
    return `CJK ok in ${targets.length} elements, fonts: ${names}`;
  } finally {
    await cdp.detach().catch(() => {});
  }
}

async function checkFile(context, file, shots) {
  const page = await context.newPage();
  page.setDefaultTimeout(PAGE_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(PAGE_TIMEOUT_MS);
  try {
    if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) throw new Error('no such file');
    await page.goto(pathToFileURL(path.resolve(file)).href, { waitUntil: 'load' });
    await page.evaluate(() => document.fonts.ready.then(() => undefined));
    const details = [];
    const problems = [];
    for (const check of [() => checkAction(page, file), () => checkOverflow(page), () => checkCjkFonts(page)]) {
      try {
        const detail = await check();
        if (detail) details.push(detail);
      } catch (error) {
        problems.push(error.message);
      }
    }
    const shot = path.join(shots, `${path.basename(file).replace(/\.html?$/i, '')}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    details.push(`screenshot ${shot}`);
    if (problems.length) throw new Error(problems.join(' | '));
    return details.join('; ');
  } finally {
    await page.close().catch(() => {});
  }
}

// -----------------------------------------------------------------------------------------------------------

async function main() {
  const { shots, files } = parseArgs(process.argv.slice(2));
  const { chromium } = loadPlaywright();
  if (!fs.existsSync(CHROMIUM)) {
    console.error(`check_mail.mjs: no browser at ${CHROMIUM}; run \`bash tests/browser/install.sh\` first`);
    process.exit(2);
  }
  fs.mkdirSync(shots, { recursive: true });

  let browser = null;
  let failed = 0;
  let outOfTime = false; // once the run's time is out, only the timer below prints
  const pending = new Set(files);
  const closeBrowser = () => (browser ? withTimeout(browser.close(), 10_000, 'closing the browser').catch(() => {}) : null);
  // The whole run is bounded: whatever hangs, the files not done fail and the browser is closed.
  const overall = setTimeout(async () => {
    outOfTime = true;
    for (const file of pending) console.log(`FAIL ${file}: not checked, the run's ${TOTAL_TIMEOUT_MS / 1000} s ran out`);
    await closeBrowser();
    process.exit(1);
  }, TOTAL_TIMEOUT_MS);

  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS, timeout: PAGE_TIMEOUT_MS,
    });
    const context = await browser.newContext({
      viewport: { width: WIDTH, height: HEIGHT }, deviceScaleFactor: 1,
    });
    let refused = 0;
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      refused++;
      return route.abort('blockedbyclient');
    });
    for (const file of files) {
      if (outOfTime) break;
      const before = refused;
      try {
        const details = await withTimeout(checkFile(context, file, shots), PAGE_TIMEOUT_MS, 'page');
        const remote = refused > before ? `; refused ${refused - before} remote requests` : '';
        if (outOfTime) break;
        console.log(`ok ${file}: ${details}${remote}`);
      } catch (error) {
        if (outOfTime) break;
        failed++;
        console.log(`FAIL ${file}: ${error.message.split('\n')[0]}`);
      }
      pending.delete(file);
    }
  } catch (error) {
    if (outOfTime) return;
    for (const file of pending) console.log(`FAIL ${file}: ${error.message.split('\n')[0]}`);
    failed += pending.size;
    pending.clear();
  } finally {
    if (!outOfTime) {
      clearTimeout(overall);
      await closeBrowser();
    }
  }
  if (!outOfTime) process.exit(failed ? 1 : 0);
}

main();
