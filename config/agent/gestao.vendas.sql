-- Canal HIPER_LOJA (Hiper, back office): sales (operacao = 1, not cancelled) finished in the window.
-- Invoiced store sales (NF-e) are the operations with origem = 2 of the branch id_filial.
-- Parameters: :from, :to (window [from, to), store wall clock), :store (STORE_ID_FILIAL).
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
  AND o.origem = 2
  AND o.id_filial = :store
  AND o.data_hora_termino >= :from
  AND o.data_hora_termino < :to
ORDER BY o.id_operacao
