-- Canal HIPER_CAIXA: every shift with a sale (1), a closure (9) or a cash withdrawal (4) in the
-- window. totais_sistema = payments of the shift's sales up to :to (the whole shift so far, not
-- only this window); fechamento_declarado = what the operator declared at closing (operation 9),
-- null while the shift is open at :to.
-- Columns: id_turno, fechado, aberto_em, fechado_em, operador_id, operador_nome, total_sistema, total_declarado.
SELECT t.id_turno           AS id_turno,
       CASE WHEN f.id_operacao IS NULL THEN 0 ELSE 1 END AS fechado,
       t.data_hora_inicio   AS aberto_em,
       f.data_hora_termino  AS fechado_em,
       t.id_usuario         AS operador_id,
       u.nome               AS operador_nome,
       (SELECT COALESCE(SUM(fo.valor), 0)
          FROM operacao_pdv v
          JOIN finalizador_operacao_pdv fo ON fo.id_operacao = v.id_operacao
         WHERE v.id_turno = t.id_turno
           AND v.operacao = 1
           AND v.cancelado = 0
           AND v.data_hora_termino < :to) AS total_sistema,
       f.valor_total        AS total_declarado
FROM turno t
LEFT JOIN usuario u ON u.id_usuario = t.id_usuario
LEFT JOIN operacao_pdv f
       ON f.id_turno = t.id_turno
      AND f.operacao = 9
      AND f.cancelado = 0
      AND f.data_hora_termino < :to
WHERE t.id_ponto_venda = :store
  AND EXISTS (SELECT 1
                FROM operacao_pdv o
               WHERE o.id_turno = t.id_turno
                 AND o.operacao IN (1, 9, 4)
                 AND o.cancelado = 0
                 AND o.data_hora_termino >= :from
                 AND o.data_hora_termino < :to)
ORDER BY t.id_turno
