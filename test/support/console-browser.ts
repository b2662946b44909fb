import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium; `.ci/run` installs it when missing. */
export const CHROMIUM = process.env.CAPSTAN_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a headless, offline, reproducible Chromium (no updates, sync or background fetches). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** True when CI is on (`CI` set and not false/0): a missing browser is then a failure, not a skip. */
export function ciOn(): boolean {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}

/** Why the browser tests cannot run here, or false when they can; under CI they never skip. */
export function browserSkipReason(): string | false {
  if (existsSync(CHROMIUM) || ciOn()) return false;
  return `no Chromium at ${CHROMIUM} (apt-get install chromium); CI fails instead of skipping`;
}

/** Launches Chromium (playwright gives each launch a fresh temporary profile); throws when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CAPSTAN_CHROMIUM`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** Builds the console into dist/console unless it is there already (the server serves that folder). */
export function ensureConsoleBuilt(): void {
  if (existsSync(path.join(ROOT, 'dist/console/index.html'))) return;
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'console/vite.config.ts'], { cwd: ROOT, stdio: 'inherit' });
}

/** Where screenshots go: `CAPSTAN_TEST_ARTIFACTS`, default `<tmp>/capstan-test-artifacts/console` (never in the repository). */
export function artifactsDir(): string {
  const dir = process.env.CAPSTAN_TEST_ARTIFACTS ? path.join(process.env.CAPSTAN_TEST_ARTIFACTS, 'console') : path.join(os.tmpdir(), 'capstan-test-artifacts', 'console');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Opens a fresh browser context and signs in to the console at `base` with `apiKey`, as a person would on the sign-in page. */
export async function signInAs(browser: Browser, base: string, apiKey: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/console/`);
  await page.getByTestId('sign-in').waitFor();
  await page.getByTestId('api-key').fill(apiKey);
  await page.getByTestId('sign-in-submit').click();
  await page.getByTestId('who').waitFor();
  return { context, page };
}
