import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const demo = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url));

test('npm run demo: three tills, one offline, all converge and the server totals match', () => {
  const started = Date.now();
  const result = spawnSync(process.execPath, [demo], { encoding: 'utf8', timeout: 60_000 });
  const out = result.stdout;
  assert.equal(result.status, 0, `${out}\n${result.stderr}`);
  assert.ok(Date.now() - started < 30_000, 'the demo finishes in under 30 s');
  assert.match(out, /RESULTADO \(RESULT\): tudo convergiu \(everything converged\)/);
  assert.ok(!out.includes('✘'), out);

  // caixa-03 really went offline with its sales waiting in the outbox.
  assert.match(out, /syncAllTables\(\) → offline, pendentes \(backlog\): 15 /);
  assert.match(out, /caixa-03 │ offline \(offline\)\s+│ 15 /);

  // The last terminal table: every till synced, nothing pending, the same catalog and the new price.
  const final = out.slice(out.indexOf('\n7. '), out.indexOf('\n8. '));
  const rows = final.split('\n').filter((l) => /^\s+caixa-0\d │/.test(l));
  assert.equal(rows.length, 3, final);
  for (const row of rows)
    assert.match(row, /│ sincronizado \(synced\) │ 0\s+│ 5\s+│ R\$ 21,50\s+│/, row);

  const produtos = /Produtos iguais em todos os caixas: (\d+) = servidor (\d+)/.exec(out);
  assert.ok(produtos, out);
  assert.equal(produtos[1], produtos[2]);
  assert.equal(produtos[1], '5');

  const vendas = /Vendas no servidor: (\d+) = (\d+) feitas nos caixas/.exec(out);
  assert.ok(vendas, out);
  assert.equal(vendas[1], vendas[2]);
  assert.equal(vendas[1], '9');

  const total = /Total no servidor: (R\$ [\d.,]+) = (R\$ [\d.,]+) vendidos nos caixas/.exec(out);
  assert.ok(total, out);
  assert.equal(total[1], total[2]);

  // Temp files are gone.
  const dir = /SQLite embutido em (\S+)/.exec(out)?.[1];
  assert.ok(dir, out);
  assert.equal(existsSync(dir), false, `${dir} was left behind`);
});
