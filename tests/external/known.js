'use strict';
/*
 * known.js: the one lookup of the runners' KNOWN tables (okta_runscope.js, ms_postman.js): a
 * failure's key "SUITE|FLAVOUR|STEP|ASSERTION" is known when the table lists it, or matches a
 * listed key holding `*` (any run of characters), so that one reviewed cause failing a whole
 * chain of tests is one entry.
 */
function knownReasonIn(known, key) {
  if (Object.prototype.hasOwnProperty.call(known, key)) return known[key];
  for (const [pattern, why] of Object.entries(known)) {
    if (!pattern.includes('*')) continue;
    const re = new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    if (re.test(key)) return why;
  }
  return undefined;
}

module.exports = { knownReasonIn };
