#!/usr/bin/env node
// Opens report pages in headless Chromium and checks them as a person would see them:
// no console errors, exceptions, dialogs (an escaped <script> must never run) or network
// requests; every <svg> has a non-zero size on screen; clicking a header of each sortable
// table sorts its rows (checked in both directions). Saves a full-page screenshot of each.
//
//   node scripts/browser_check.mjs --shots DIR NAME=FILE.html [NAME=FILE.html …]
//
// Talks to Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe), so it
// needs nothing but Node.js and Debian's `chromium` (or $CHROMIUM). Exit 0 when every page
// passes, 1 with one line per failure otherwise, 2 on bad arguments or no browser.

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const VIEWPORT = { width: 1280, height: 900 };
const MAX_SHOT_HEIGHT = 8000; // px; longer pages are cut in the screenshot only
const TIMEOUT_MS = 60000;

function usage(message) {
  console.error(`browser_check: ${message}\nusage: node scripts/browser_check.mjs --shots DIR NAME=FILE.html …`);
  process.exit(2);
}

function parseArgs(argv) {
  const pages = [];
  let shots = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--shots") {
      shots = argv[++i];
    } else if (argv[i].includes("=")) {
      const [name, file] = [argv[i].slice(0, argv[i].indexOf("=")), argv[i].slice(argv[i].indexOf("=") + 1)];
      if (!/^[A-Za-z0-9_-]+$/.test(name)) usage(`page name ${JSON.stringify(name)}: use letters, digits, _ and -`);
      if (!fs.existsSync(file)) usage(`${file}: no such file`);
      pages.push({ name, file: path.resolve(file) });
    } else {
      usage(`unexpected argument ${JSON.stringify(argv[i])}`);
    }
  }
  if (!shots) usage("--shots DIR is required");
  if (pages.length === 0) usage("no pages given");
  return { shots, pages };
}

function findChromium() {
  const candidates = [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter(Boolean);
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) usage(`no Chromium found (tried ${candidates.join(", ")}); apt-get install chromium`);
  return found;
}

/** A DevTools-protocol connection over Chromium's pipe (fd 3 in, fd 4 out, NUL-separated JSON). */
class Cdp {
  constructor(proc) {
    this.proc = proc;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    let buffer = "";
    proc.stdio[4].on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let end;
      while ((end = buffer.indexOf("\0")) >= 0) {
        const message = JSON.parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 1);
        this.dispatch(message);
      }
    });
  }
  dispatch(message) {
    if (message.id !== undefined && this.pending.has(message.id)) {
      const { resolve, reject, method } = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) reject(new Error(`${method}: ${message.error.message}`));
      else resolve(message.result);
    } else if (message.method) {
      this.listeners.forEach((listener) => listener(message));
    }
  }
  send(method, params = {}, sessionId = undefined) {
    const id = this.nextId++;
    const message = { id, method, params };
    if (sessionId) message.sessionId = sessionId;
    this.proc.stdio[3].write(JSON.stringify(message) + "\0");
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, method }));
  }
  waitFor(method, sessionId) {
    return new Promise((resolve) => {
      const listener = (m) => {
        if (m.method === method && m.sessionId === sessionId) {
          this.listeners = this.listeners.filter((l) => l !== listener);
          resolve(m.params);
        }
      };
      this.listeners.push(listener);
    });
  }
}

function launch(userDataDir) {
  const args = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--hide-scrollbars", "--mute-audio",
    `--user-data-dir=${userDataDir}`, "--remote-debugging-pipe", "about:blank",
  ];
  const proc = spawn(findChromium(), args, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (d) => { stderr = (stderr + d.toString()).slice(-4000); });
  proc.on("exit", (code) => { if (code) console.error(`chromium exited with ${code}:\n${stderr}`); });
  return proc;
}

/** Runs `expression` in the page and returns its (JSON) value. */
async function evaluate(cdp, session, expression) {
  const r = await cdp.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, session);
  if (r.exceptionDetails) throw new Error(`evaluate: ${r.exceptionDetails.text} in ${expression.slice(0, 80)}`);
  return r.result.value;
}

/** A real mouse click at the centre of the `index`-th element matching `selector`. */
async function click(cdp, session, selector, index) {
  const box = await evaluate(cdp, session, `(() => {
    const el = document.querySelectorAll(${JSON.stringify(selector)})[${index}];
    el.scrollIntoView({ block: "center" });
    const r = el.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  })()`);
  for (const type of ["mousePressed", "mouseReleased"]) {
    await cdp.send("Input.dispatchMouseEvent", { type, x: box.x, y: box.y, button: "left", clickCount: 1 }, session);
  }
}

/** Every SVG's on-screen size; the ones with zero width or height are failures. */
async function checkSvgs(cdp, session, fail) {
  const sizes = await evaluate(cdp, session, `Array.from(document.querySelectorAll("svg")).map((s) => {
    const r = s.getBoundingClientRect(); return [r.width, r.height]; })`);
  sizes.forEach(([w, h], i) => { if (!(w > 0 && h > 0)) fail(`svg #${i} has size ${w}x${h}`); });
  return sizes.length;
}

/** The sort keys of one column of a table, as the page's script reads them. */
function columnExpression(table, col, numeric) {
  return `Array.from(document.querySelectorAll("table.sortable")[${table}].tBodies[0].rows).map((row) => {
    const cell = row.cells[${col}];
    const text = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    return ${numeric} ? (isNaN(parseFloat(text)) ? null : parseFloat(text)) : text.trim().toLowerCase();
  })`;
}

function ordered(values, numeric, direction) {
  const present = values.filter((v) => v !== null);
  const nullsLast = values.slice(present.length).every((v) => v === null);
  const cmp = (a, b) => (numeric ? a - b : a.localeCompare(b, undefined, { numeric: true }));
  return nullsLast && present.every((v, i) => i === 0 || direction * cmp(present[i - 1], v) <= 0);
}

/** Clicks a header of each sortable table (a numeric column with distinct values, and the
 * first text column) twice, checking ascending then descending order each time. */
async function checkSorting(cdp, session, fail) {
  const tables = await evaluate(cdp, session, `Array.from(document.querySelectorAll("table.sortable")).map((t) =>
    Array.from(t.tHead.rows[0].cells).map((th) => th.dataset.type))`);
  let checked = 0;
  for (let t = 0; t < tables.length; t++) {
    const num = await pickColumn(cdp, session, t, tables[t], "num");
    const text = await pickColumn(cdp, session, t, tables[t], "text");
    for (const [col, numeric] of [[num, true], [text, false]]) {
      if (col < 0) continue;
      const before = await evaluate(cdp, session, columnExpression(t, col, numeric));
      const thIndex = await evaluate(cdp, session, `Array.from(document.querySelectorAll("table.sortable th")).indexOf(
        document.querySelectorAll("table.sortable")[${t}].tHead.rows[0].cells[${col}])`);
      for (const direction of [1, -1]) {
        await click(cdp, session, "table.sortable th", thIndex);
        const after = await evaluate(cdp, session, columnExpression(t, col, numeric));
        const label = `table ${t} column ${col} (${numeric ? "numeric" : "text"}) ${direction > 0 ? "ascending" : "descending"}`;
        if (!ordered(after, numeric, direction)) fail(`${label}: not sorted after a click: ${JSON.stringify(after.slice(0, 12))}`);
        if (JSON.stringify([...before].sort()) !== JSON.stringify([...after].sort())) fail(`${label}: rows lost or changed`);
      }
      checked++;
    }
  }
  return checked;
}

/** The first column of `type` whose values are not all the same, or -1. */
async function pickColumn(cdp, session, table, types, type) {
  for (let col = 0; col < types.length; col++) {
    if (types[col] !== type) continue;
    const values = await evaluate(cdp, session, columnExpression(table, col, type === "num"));
    if (new Set(values.map(String)).size > 1) return col;
  }
  return -1;
}

async function screenshot(cdp, session, file) {
  const metrics = await cdp.send("Page.getLayoutMetrics", {}, session);
  const height = Math.min(Math.ceil(metrics.cssContentSize.height), MAX_SHOT_HEIGHT);
  const clip = { x: 0, y: 0, width: VIEWPORT.width, height, scale: 1 };
  const shot = await cdp.send("Page.captureScreenshot", { format: "png", clip, captureBeyondViewport: true }, session);
  fs.writeFileSync(file, Buffer.from(shot.data, "base64"));
}

async function checkPage(cdp, page, shots) {
  const failures = [];
  const fail = (message) => failures.push(`${page.name}: ${message}`);
  const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
  const { sessionId: s } = await cdp.send("Target.attachToTarget", { targetId, flatten: true });
  cdp.listeners.push((m) => {
    if (m.sessionId !== s) return;
    if (m.method === "Runtime.consoleAPICalled" && ["error", "assert"].includes(m.params.type)) {
      fail(`console ${m.params.type}: ${m.params.args.map((a) => a.value ?? a.description).join(" ")}`);
    } else if (m.method === "Runtime.exceptionThrown") {
      fail(`uncaught exception: ${m.params.exceptionDetails.exception?.description ?? m.params.exceptionDetails.text}`);
    } else if (m.method === "Log.entryAdded" && m.params.entry.level === "error") {
      fail(`browser log error: ${m.params.entry.text}`);
    } else if (m.method === "Page.javascriptDialogOpening") {
      fail(`a script opened a ${m.params.type} dialog: ${JSON.stringify(m.params.message)}`);
      cdp.send("Page.handleJavaScriptDialog", { accept: true }, s);
    } else if (m.method === "Network.requestWillBeSent" && !/^(file|data|about):/.test(m.params.request.url)) {
      fail(`network request to ${m.params.request.url}`);
    }
  });
  for (const domain of ["Page", "Runtime", "Log", "Network"]) await cdp.send(`${domain}.enable`, {}, s);
  await cdp.send("Emulation.setDeviceMetricsOverride", { ...VIEWPORT, deviceScaleFactor: 1, mobile: false }, s);
  const loaded = cdp.waitFor("Page.loadEventFired", s);
  await cdp.send("Page.navigate", { url: pathToFileURL(page.file).href }, s);
  await loaded;
  const svgs = await checkSvgs(cdp, s, fail);
  if (svgs === 0) fail("no <svg> on the page");
  const file = path.join(shots, `${page.name}.png`);
  await screenshot(cdp, s, file);
  const sorted = await checkSorting(cdp, s, fail);
  await cdp.send("Target.closeTarget", { targetId });
  console.log(`${page.name}: ${svgs} svg, ${sorted} sorted columns checked, screenshot ${file}`);
  return failures;
}

async function main() {
  const { shots, pages } = parseArgs(process.argv.slice(2));
  fs.mkdirSync(shots, { recursive: true });
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "browser-check-"));
  const proc = launch(userDataDir);
  const cdp = new Cdp(proc);
  const timer = setTimeout(() => { console.error(`browser_check: timed out after ${TIMEOUT_MS} ms`); proc.kill("SIGKILL"); process.exit(1); }, TIMEOUT_MS);
  let failures = [];
  try {
    for (const page of pages) failures = failures.concat(await checkPage(cdp, page, shots));
  } finally {
    clearTimeout(timer);
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    await cdp.send("Browser.close").catch(() => {});
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    proc.kill("SIGKILL");
    fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
  failures.forEach((f) => console.error(`FAIL ${f}`));
  console.log(`${pages.length - new Set(failures.map((f) => f.split(":")[0])).size} passed, ${new Set(failures.map((f) => f.split(":")[0])).size} failed`);
  process.exit(failures.length ? 1 : 0);
}

main().catch((err) => { console.error(`browser_check: ${err.stack || err}`); process.exit(1); });
