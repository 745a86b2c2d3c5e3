-- Canal HIPER_CAIXA: the payments of the sales of caixa.vendas.sql (same filter).
-- Columns: id_operacao, meio, valor, parcelas.
SELECT o.id_operacao  AS id_operacao,
       fp.nome        AS meio,
       fo.valor       AS valor,
       fo.parcela     AS parcelas
FROM operacao_pdv o
JOIN finalizador_operacao_pdv fo ON fo.id_operacao = o.id_operacao
LEFT JOIN finalizador_pdv fp ON fp.id_finalizador = fo.id_finalizador
WHERE o.operacao = 1
  AND o.cancelado = 0
  AND o.id_ponto_venda = :store
  AND o.data_hora_termino >= :from
  AND o.data_hora_termino < :to
ORDER BY o.id_operacao, fo.id_finalizador_operacao_pdv
