-- Canal HIPER_CAIXA: the items of the sales of caixa.vendas.sql (same filter), in item order.
-- Columns: id_operacao, id_produto, nome, qtd, preco_unitario, total.
SELECT o.id_operacao           AS id_operacao,
       it.id_produto           AS id_produto,
       p.nome                  AS nome,
       it.quantidade           AS qtd,
       it.preco_unitario       AS preco_unitario,
       it.valor_total_liquido  AS total
FROM operacao_pdv o
JOIN item_operacao_pdv it ON it.id_operacao = o.id_operacao
LEFT JOIN produto p ON p.id_produto = it.id_produto
WHERE o.operacao = 1
  AND o.cancelado = 0
  AND it.cancelado = 0
  AND o.id_ponto_venda = :store
  AND o.data_hora_termino >= :from
  AND o.data_hora_termino < :to
ORDER BY o.id_operacao, it.item, it.id_item_operacao_pdv
