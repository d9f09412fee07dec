// NeMo Studio's only script, loaded from this file (the CSP allows no inline script). A button
// with `data-copy="ID"` copies the text of the element #ID to the clipboard and says so in the
// element named by `data-copy-status`. The buttons are hidden until this script shows them, so
// without JavaScript the page still works: the text can be selected and copied by hand.
'use strict';

async function copyFrom(source) {
  const text = 'value' in source ? source.value : source.textContent;
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on another host than localhost: the Clipboard API is unavailable.
  source.focus();
  source.select();
  if (!document.execCommand('copy')) throw new Error('copy refused');
}

for (const button of document.querySelectorAll('button[data-copy]')) {
  const source = document.getElementById(button.dataset.copy);
  const status = document.getElementById(button.dataset.copyStatus);
  if (!source) continue;
  button.hidden = false;
  button.addEventListener('click', async () => {
    try {
      await copyFrom(source);
      if (status) status.textContent = 'Copied to the clipboard.';
    } catch {
      source.focus();
      source.select();
      if (status) status.textContent = 'Could not copy: the text is selected, press Ctrl+C (⌘C on a Mac).';
    }
  });
}
