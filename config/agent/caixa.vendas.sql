-- Canal HIPER_CAIXA (HiperPdv): sales (operacao = 1, not cancelled) finished in the window.
-- Parameters: :from, :to (window [from, to), store wall clock), :store (STORE_ID_PONTO_VENDA).
-- Columns (the contract with the agent): id_operacao, id_turno, data_hora, total, desconto, operador.
SELECT o.id_operacao       AS id_operacao,
       o.id_turno          AS id_turno,
       o.data_hora_termino AS data_hora,
       o.valor_total       AS total,
       o.desconto          AS desconto,
       u.nome              AS operador
FROM operacao_pdv o
LEFT JOIN usuario u ON u.id_usuario = o.id_usuario
WHERE o.operacao = 1
  AND o.cancelado = 0
  AND o.id_ponto_venda = :store
  AND o.data_hora_termino >= :from
  AND o.data_hora_termino < :to
ORDER BY o.id_operacao
