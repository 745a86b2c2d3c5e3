import {
  agentSyncId,
  type AgentPayload,
  type AgentTurno,
  type AgentVenda,
} from '../protocol/index.js';

type Unsigned = Omit<AgentPayload, 'integrity'> & { integrity: { warnings: string[] } };

/** A venda of the front-of-store channel with one item and one payment, as seed 001 shows. */
export function agentVenda(idOperacao: number, extra: Partial<AgentVenda> = {}): AgentVenda {
  return {
    canal: 'HIPER_CAIXA',
    id_operacao: idOperacao,
    id_turno: 'T-1',
    data_hora: '2024-05-20T10:05:00-03:00',
    total: 500,
    desconto: null,
    operador: 'Maria',
    itens: [{ id_produto: 50, nome: 'Celular', qtd: 1, preco_unitario: 500, total: 500 }],
    pagamentos: [{ meio: 'Credito', valor: 500, parcelas: 10 }],
    ...extra,
  };
}

/** A closed shift whose operator declared 998.00 against 1000.00 in the system (quebra −2.00). */
export function agentTurno(idTurno: string, extra: Partial<AgentTurno> = {}): AgentTurno {
  return {
    canal: 'HIPER_CAIXA',
    id_turno: idTurno,
    fechado: true,
    aberto_em: '2024-05-20T08:00:00-03:00',
    fechado_em: '2024-05-20T10:08:00-03:00',
    totais_sistema: { total: 1000, dinheiro: 600, credito: 400 },
    fechamento_declarado: { total: 998, dinheiro: 598, credito: 400 },
    operador: { id: 7, nome: 'Maria' },
    sangrias: [
      { id_operacao: 9001, valor: 200, data_hora: '2024-05-20T09:00:00-03:00', motivo: 'cofre' },
    ],
    ...extra,
  };
}

/** A v4 payload of one 10-minute window, signed with its sync_id. */
export function agentPayload(
  parts: Partial<Omit<Unsigned, 'integrity'>> & { warnings?: string[] } = {},
): AgentPayload {
  const { warnings = [], ...rest } = parts;
  const unsigned: Unsigned = {
    schema_version: '4.0.0',
    event_type: 'mixed',
    store: { id_ponto_venda: 1, id_filial: 1 },
    window: { from: '2024-05-20T10:00:00-03:00', to: '2024-05-20T10:10:00-03:00', minutes: 10 },
    turnos: [],
    vendas: [],
    ...rest,
    integrity: { warnings },
  };
  return { ...unsigned, integrity: { sync_id: agentSyncId(unsigned), warnings } };
}

/** The window starting `minutes` after 10:00 on 2024-05-20 (-03:00), ten minutes long. */
export function windowAt(minutes: number): AgentPayload['window'] {
  const from = new Date(Date.parse('2024-05-20T13:00:00Z') + minutes * 60_000);
  const to = new Date(from.getTime() + 10 * 60_000);
  const local = (d: Date) =>
    new Date(d.getTime() - 3 * 3_600_000).toISOString().replace('.000Z', '-03:00');
  return { from: local(from), to: local(to), minutes: 10 };
}
