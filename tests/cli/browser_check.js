// browser_check.js - loads a tlreport page in headless Chromium through the DevTools protocol
// and checks it the way a reader would: no console errors, no request leaving the page,
// every image decoded, readable at phone width, clean print styles.  Saves a screenshot and
// a PDF.  Used by tests/cli/browser.sh; needs Node 20 run with --experimental-websocket.
//
//   node --experimental-websocket browser_check.js CHROMIUM PAGE_PATH OUT_PREFIX [embed]
//
// Prints one "PASS <what>" or "FAIL <what>: <why>" line per check; exit status 0 when the
// checks could run (failures are counted by the caller), 2 when the browser could not be
// driven at all.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const [chromium, pagePath, outPrefix, mode] = process.argv.slice(2);
const embedded = mode === 'embed';
const pageUrl = 'file://' + path.resolve(pagePath);

function pass(what) { console.log('PASS ' + what); }
function fail(what, why) { console.log('FAIL ' + what + ': ' + why); }
function check(cond, what, why) { if (cond) pass(what); else fail(what, why); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitForPort(dir, ms) {
  const file = path.join(dir, 'DevToolsActivePort');
  for (let t = 0; t < ms; t += 100) {
    try {
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      if (lines[0]) return lines[0].trim();
    } catch (e) { /* not written yet */ }
    await sleep(100);
  }
  throw new Error('Chromium did not open a DevTools port');
}

// A minimal DevTools client: numbered requests, events kept in a list.
class Cdp {
  constructor(ws) {
    this.ws = ws; this.next = 1; this.pending = new Map(); this.events = []; this.waiters = [];
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.id && this.pending.has(msg.id)) {
        const { resolve, reject } = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) reject(new Error(msg.error.message)); else resolve(msg.result);
      } else if (msg.method) {
        this.events.push(msg);
        this.waiters = this.waiters.filter((w) => !(w.method === msg.method && (w.resolve(msg), true)));
      }
    };
  }
  send(method, params = {}) {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }
  once(method, ms = 20000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timeout waiting for ' + method)), ms);
      this.waiters.push({ method, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  }
  async eval(expr) {
    const r = await this.send('Runtime.evaluate', { expression: expr, returnByValue: true });
    if (r.exceptionDetails) throw new Error('evaluate: ' + r.exceptionDetails.text);
    return r.result.value;
  }
}

async function load(cdp, width, mobile) {
  await cdp.send('Emulation.setDeviceMetricsOverride',
    { width, height: 900, deviceScaleFactor: 1, mobile });
  const loaded = cdp.once('Page.loadEventFired');
  await cdp.send('Page.navigate', { url: pageUrl });
  await loaded;
  await sleep(200); // let late console messages arrive
}

function problems(events) {
  const out = [];
  for (const e of events) {
    if (e.method === 'Runtime.exceptionThrown') out.push('exception: ' + e.params.exceptionDetails.text);
    if (e.method === 'Runtime.consoleAPICalled' && (e.params.type === 'error' || e.params.type === 'warning'))
      out.push('console.' + e.params.type);
    if (e.method === 'Log.entryAdded' && (e.params.entry.level === 'error' || e.params.entry.level === 'warning'))
      out.push(e.params.entry.source + ': ' + e.params.entry.text);
    if (e.method === 'Network.loadingFailed') out.push('load failed: ' + e.params.errorText);
  }
  return out;
}

// An expression listing the tables and code blocks whose box passes the right edge `limit`
// (out), and those whose content is wider than the box without being able to scroll (stuck:
// overflow that is neither auto nor scroll cuts it off).
function boxesFit(limit) {
  return `(() => {
    const out = [], stuck = [];
    document.querySelectorAll('table, pre').forEach((e, i) => {
      const r = e.getBoundingClientRect(), cs = getComputedStyle(e);
      const name = e.tagName.toLowerCase() + '#' + i;
      if (r.right > ${limit}) out.push(name + ' ends at ' + Math.round(r.right) + ' px');
      const scrolls = cs.overflowX === 'auto' || cs.overflowX === 'scroll';
      if (e.scrollWidth > e.clientWidth + 1 && !scrolls)
        stuck.push(name + ' holds ' + e.scrollWidth + ' px in ' + e.clientWidth);
      e.querySelectorAll('td, th').forEach((c) => {
        if (c.scrollWidth > c.clientWidth + 1) stuck.push(name + ' cell ' + c.textContent.slice(0, 30));
      });
    });
    return { out, stuck };
  })()`;
}

async function checks(cdp) {
  const tag = embedded ? '[embed] ' : '';
  await cdp.send('Runtime.enable');
  await cdp.send('Log.enable');
  await cdp.send('Network.enable');
  await cdp.send('Page.enable');

  // Desktop width.
  cdp.events = [];
  await load(cdp, 1000, false);
  const errs = problems(cdp.events);
  check(errs.length === 0, tag + 'page loads without console errors', errs.join('; '));
  const urls = cdp.events.filter((e) => e.method === 'Network.requestWillBeSent')
    .map((e) => e.params.request.url);
  const outside = urls.filter((u) => !u.startsWith('file://') && !u.startsWith('data:'));
  check(outside.length === 0, tag + 'no request leaves the page', outside.join(' '));
  if (embedded) {
    const files = urls.filter((u) => u.startsWith('file://') && u !== pageUrl);
    check(files.length === 0, tag + 'index.html needs no other file', files.join(' '));
  }

  const info = await cdp.eval(`(() => {
    const imgs = Array.from(document.images).map((i) => ({
      src: (i.getAttribute('src') || '').slice(0, 40), ok: i.complete && i.naturalWidth > 0,
      w: i.naturalWidth, h: i.naturalHeight }));
    return { imgs, scripts: document.scripts.length, tables: document.querySelectorAll('table').length,
      h2: document.querySelectorAll('h2').length, title: document.title,
      nav: document.querySelectorAll('nav a').length, lang: document.documentElement.lang };
  })()`);
  check(info.imgs.length >= 5, tag + 'the page shows the report images', 'found ' + info.imgs.length);
  const broken = info.imgs.filter((i) => !i.ok);
  check(broken.length === 0, tag + 'every <img> decodes (naturalWidth > 0)',
    broken.map((i) => i.src).join(' '));
  if (embedded)
    check(info.imgs.every((i) => i.src.startsWith('data:image/png;base64,')),
      tag + 'images are data: URIs', info.imgs.map((i) => i.src).join(' '));
  check(info.scripts === 0, tag + 'no <script> elements', info.scripts + ' found');
  check(info.tables >= 8, tag + 'Markdown tables rendered as tables', info.tables + ' tables');
  check(info.h2 >= 7 && info.nav === info.h2, tag + 'one contents link per section',
    info.h2 + ' sections, ' + info.nav + ' links');
  check(info.title.length > 0 && info.lang === 'es', tag + 'title and language set',
    JSON.stringify([info.title, info.lang]));

  const shot = await cdp.send('Page.captureScreenshot', { format: 'png' });
  fs.writeFileSync(outPrefix + '-desktop.png', Buffer.from(shot.data, 'base64'));

  // Phone width: nothing wider than the screen except inside scrollable tables and code.
  await load(cdp, 375, true);
  const phone = await cdp.eval(`(() => ({
    page: document.documentElement.scrollWidth,
    font: parseFloat(getComputedStyle(document.body).fontSize),
    wideImg: Array.from(document.images).filter((i) => i.getBoundingClientRect().width > 376).length }))()`);
  check(phone.page <= 376, tag + 'no horizontal scrolling at 375 px', 'page is ' + phone.page + ' px wide');
  check(phone.font >= 14, tag + 'readable font size on a phone', phone.font + ' px');
  check(phone.wideImg === 0, tag + 'images fit a phone screen', phone.wideImg + ' too wide');
  const fit = await cdp.eval(boxesFit(376));
  check(fit.out.length === 0, tag + 'at 375 px every table and code block stays in the screen',
    fit.out.join(' '));
  check(fit.stuck.length === 0, tag + 'at 375 px wide tables scroll inside their box',
    fit.stuck.join(' '));
  const mshot = await cdp.send('Page.captureScreenshot', { format: 'png' });
  fs.writeFileSync(outPrefix + '-phone.png', Buffer.from(mshot.data, 'base64'));

  // Print styles.
  await load(cdp, 1000, false);
  await cdp.send('Emulation.setEmulatedMedia', { media: 'print' });
  const print = await cdp.eval(`(() => {
    const cs = (sel) => document.querySelector(sel) && getComputedStyle(document.querySelector(sel));
    return { nav: cs('nav') ? cs('nav').display : 'none', img: cs('img').breakInside,
      td: cs('td').borderTopStyle, pre: cs('pre').fontFamily, preBreak: cs('pre').breakInside,
      table: cs('table').display };
  })()`);
  check(print.nav === 'none', tag + 'print: no navigation', 'nav display ' + print.nav);
  check(print.img === 'avoid' && print.preBreak === 'avoid', tag + 'print: images and code not split',
    JSON.stringify(print));
  check(print.td === 'solid' && print.table === 'table', tag + 'print: tables with borders',
    JSON.stringify(print));
  check(/mono/i.test(print.pre), tag + 'print: monospace summary block', print.pre);
  // On paper nothing scrolls: at the A4 text width (21 cm less the 2 x 1.4 cm margins, 688 px)
  // every table must wrap inside the page and no cell or code block may be cut.
  await cdp.send('Emulation.setDeviceMetricsOverride',
    { width: 688, height: 1000, deviceScaleFactor: 1, mobile: false });
  await sleep(100);
  const paper = await cdp.eval(boxesFit(689));
  check(paper.out.length === 0 && paper.stuck.length === 0,
    tag + 'print: tables and code fit the A4 width (wrapped, never cut)',
    paper.out.concat(paper.stuck).join(' '));
  await cdp.send('Emulation.setDeviceMetricsOverride',
    { width: 1000, height: 900, deviceScaleFactor: 1, mobile: false });
  const pdf = await cdp.send('Page.printToPDF', { preferCSSPageSize: true });
  const bytes = Buffer.from(pdf.data, 'base64');
  fs.writeFileSync(outPrefix + '.pdf', bytes);
  const pages = (bytes.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  check(bytes.slice(0, 5).toString() === '%PDF-' && pages >= 3, tag + 'prints to a multi-page PDF',
    bytes.length + ' bytes, ' + pages + ' pages');
  await cdp.send('Emulation.setEmulatedMedia', { media: '' });
}

async function main() {
  if (typeof WebSocket === 'undefined') {
    console.log('SKIP browser_check: this node has no WebSocket (run with --experimental-websocket)');
    return 3;
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tlr-chromium-'));
  const child = spawn(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--user-data-dir=' + profile, '--remote-debugging-port=0', 'about:blank'],
  { stdio: ['ignore', 'ignore', 'ignore'] });
  let status = 0;
  try {
    const port = await waitForPort(profile, 20000);
    const list = await (await fetch('http://127.0.0.1:' + port + '/json/list')).json();
    const page = list.find((t) => t.type === 'page');
    if (!page) throw new Error('no page target');
    const ws = new WebSocket(page.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('websocket')); });
    await checks(new Cdp(ws));
    ws.close();
  } catch (e) {
    console.log('FAIL browser_check: ' + e.message);
    status = 2;
  } finally {
    child.kill('SIGTERM');
    await sleep(300);
    fs.rmSync(profile, { recursive: true, force: true });
  }
  return status;
}

main().then((s) => process.exit(s));
