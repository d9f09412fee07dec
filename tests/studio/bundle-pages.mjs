// A survey, not a test: every page of the official Studio's navigation, served by nmp in bff mode
// and signed in as a workspace Admin through the test IdP, with the API calls each page made and
// their statuses. Its output is what the page table of docs/compatibility.md is written from;
// run it again for a new nemo-platform version:
//
//   cargo build -p nmp-cli --bin nemo && node tests/studio/bundle-pages.mjs

import { idpLogin, launchBrowser, newContext, officialBundle, startOfficialStudio } from './support.mjs';

const { idp, nmp } = await startOfficialStudio(officialBundle(), 'bff');
const browser = await launchBrowser();
try {
  const page = await (await newContext(browser, nmp.url)).newPage();
  let calls = [];
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (url.origin === nmp.url && url.pathname.startsWith('/apis/')) calls.push(`${response.status()} ${response.request().method()} ${url.pathname}`);
  });
  await page.goto(`${nmp.url}/studio/workspaces/alice/members`);
  await idpLogin(page, 'alice@example.com');
  await page.waitForURL(`${nmp.url}/studio/**`);
  await page.getByRole('row').filter({ hasText: 'alice@example.com' }).waitFor();
  for (const group of ['Expand Models', 'Datasets']) await page.getByRole('button', { name: group }).first().click();
  const links = await page.locator('nav a').evaluateAll((anchors) => anchors.map((a) => [a.textContent.trim(), a.getAttribute('href')]));
  links.push(['Agents (landing)', '/studio/workspaces/alice/agents'], ['Members', '/studio/workspaces/alice/members']);
  for (const [name, href] of links) {
    calls = [];
    await page.goto(`${nmp.url}${href}`);
    await page.waitForTimeout(6000); // the app retries failed queries before it gives up
    const text = (await page.locator('body').innerText()).replace(/\s+/g, ' ');
    const notice = text.match(/Plugin Not Enabled|Failed to load[^.]*\.|You don't have access[^.]*/)?.[0] ?? '';
    console.log(`${name} (${href})\n  calls: ${[...new Set(calls)].join(', ')}${notice ? `\n  shows: ${notice}` : ''}`);
  }
} finally {
  await browser.close();
  await nmp.stop();
  idp.stop();
}
