/** Identifier quoting, shared with the terminals: the sync schema restricts names to [a-z0-9_]. */
export { quoteSqlIdent as quoteIdent } from '../../protocol/index.js';
