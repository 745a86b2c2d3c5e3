/** Store reserved for `pdv-sync reliability` checks: excluded from stats, metrics and the console. */
export const checksStoreId = 'pdv-sync-checks';
