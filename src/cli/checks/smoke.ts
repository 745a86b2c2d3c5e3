import { syncSchemaSchema, type SyncSchema } from '../../protocol/index.js';
import type { CheckClient } from './check-client.js';
import { expect, runChecks, type CheckResult } from './check-client.js';

/**
 * `pdv-sync smoke`: is this server up and usable? Safe against production: its
 * only writes are a device of the reserved checks store (revoked at the end)
 * and one reconcile record of that device.
 */
export async function smokeChecks(
  client: CheckClient,
  report: (r: CheckResult) => void,
): Promise<CheckResult[]> {
  let device: { machineId: string; token: string } | undefined;
  let schema: SyncSchema | undefined;
  const results = await runChecks(
    [
      {
        name: 'health',
        run: async () => {
          const r = await client.call<{ status?: string; database?: string; dialect?: string }>(
            'GET',
            '/health',
            null,
          );
          expect(
            r.status === 200 && r.body.status === 'ok',
            `GET /health answered ${r.status} ${JSON.stringify(r.body)}`,
          );
          return `ok, database ${r.body.database ?? '?'} (${r.body.dialect ?? '?'})`;
        },
      },
      {
        name: 'schema',
        run: async () => {
          const r = await client.call('GET', '/api/schema', client.adminToken);
          expect(r.status === 200, `GET /api/schema answered ${r.status}`);
          const parsed = syncSchemaSchema.safeParse(r.body);
          expect(parsed.success, 'GET /api/schema is not a valid sync schema');
          schema = parsed.data;
          expect(schema.tables.length > 0, 'the sync schema has no table');
          return `${schema.tables.length} tables`;
        },
      },
      {
        name: 'device round trip',
        run: async () => {
          device = await client.device('smoke');
          const used = await client.call('GET', '/api/sync/epoch', device.token);
          expect(used.status === 200, `the new device token was answered ${used.status}`);
          const revoked = await client.revoke(device.machineId);
          expect(revoked === 200, `revoking the device answered ${revoked}`);
          const after = await client.call('GET', '/api/sync/epoch', device.token);
          expect(after.status === 401, `a revoked token was answered ${after.status}, not 401`);
          const again = await client.device('smoke');
          device = again;
          return 'created, used, revoked, refused after revocation';
        },
      },
      {
        name: 'reconcile',
        run: async () => {
          expect(device, 'needs the device round trip');
          const r = await client.call<{ isConsistent?: boolean }>(
            'POST',
            '/api/sync/reconcile',
            device.token,
            { machineId: device.machineId, clientSummary: {} },
          );
          expect(r.status === 200, `POST /api/sync/reconcile answered ${r.status}`);
          expect(
            typeof r.body.isConsistent === 'boolean',
            'the reconcile answer has no isConsistent',
          );
          return `answered, consistent: ${r.body.isConsistent}`;
        },
      },
      {
        name: 'reconcile history',
        run: async () => {
          expect(device, 'needs the device round trip');
          const r = await client.call<{ data?: { machineId?: string; machine_id?: string }[] }>(
            'GET',
            `/api/sync/reconcile/history?machineId=${encodeURIComponent(device.machineId)}`,
            device.token,
          );
          expect(r.status === 200, `GET /api/sync/reconcile/history answered ${r.status}`);
          const mine = (r.body.data ?? []).length;
          expect(mine >= 1, 'the reconcile just made is not in the history');
          return `${mine} record(s) for the check device`;
        },
      },
    ],
    report,
  );
  if (device) await client.revoke(device.machineId).catch(() => undefined);
  return results;
}
