-- Canal HIPER_CAIXA (optional file): per payment method, the system total of each shift of
-- caixa.turnos.sql (tipo 'sistema': payments of its sales up to :to) and the declared amount at
-- closing (tipo 'declarado': the payment lines of its operation 9). They fill
-- totais_sistema.<meio> and fechamento_declarado.<meio>.
-- Columns: id_turno, tipo, meio, valor.
SELECT v.id_turno AS id_turno, 'sistema' AS tipo, fp.nome AS meio, SUM(fo.valor) AS valor
FROM operacao_pdv v
JOIN finalizador_operacao_pdv fo ON fo.id_operacao = v.id_operacao
JOIN finalizador_pdv fp ON fp.id_finalizador = fo.id_finalizador
WHERE v.operacao = 1
  AND v.cancelado = 0
  AND v.data_hora_termino < :to
  AND v.id_turno IN (SELECT o.id_turno
                       FROM operacao_pdv o
                      WHERE o.id_ponto_venda = :store
                        AND o.operacao IN (1, 9, 4)
                        AND o.cancelado = 0
                        AND o.data_hora_termino >= :from
                        AND o.data_hora_termino < :to)
GROUP BY v.id_turno, fp.nome
UNION ALL
SELECT f.id_turno AS id_turno, 'declarado' AS tipo, fp.nome AS meio, SUM(fo.valor) AS valor
FROM operacao_pdv f
JOIN finalizador_operacao_pdv fo ON fo.id_operacao = f.id_operacao
JOIN finalizador_pdv fp ON fp.id_finalizador = fo.id_finalizador
WHERE f.operacao = 9
  AND f.cancelado = 0
  AND f.data_hora_termino < :to
  AND f.id_turno IN (SELECT o.id_turno
                       FROM operacao_pdv o
                      WHERE o.id_ponto_venda = :store
                        AND o.operacao IN (1, 9, 4)
                        AND o.cancelado = 0
                        AND o.data_hora_termino >= :from
                        AND o.data_hora_termino < :to)
GROUP BY f.id_turno, fp.nome
ORDER BY 1, 2, 3
