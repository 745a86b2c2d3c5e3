-- Canal HIPER_CAIXA: cash withdrawals (operacao = 4) in the window, attached to their shift.
-- Columns: id_operacao, id_turno, valor, data_hora, motivo.
SELECT o.id_operacao       AS id_operacao,
       o.id_turno          AS id_turno,
       o.valor_total       AS valor,
       o.data_hora_termino AS data_hora,
       o.observacao        AS motivo
FROM operacao_pdv o
WHERE o.operacao = 4
  AND o.cancelado = 0
  AND o.id_ponto_venda = :store
  AND o.data_hora_termino >= :from
  AND o.data_hora_termino < :to
ORDER BY o.data_hora_termino, o.id_operacao
