import { chromium, type Browser } from 'playwright-core';

/** The system's Chromium (`PDV_SYNC_CHROMIUM` to use another), headless and quiet on the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['PDV_SYNC_CHROMIUM'] ?? '/usr/bin/chromium',
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
