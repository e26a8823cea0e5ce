-- A search for a whole-looking value (`q=user4242@example.com`) without
-- walking the posting lists of common trigrams. The trigram index (0013)
-- answers `body ILIKE '%user4242@example.com%'` by taking its rarest trigram
-- ('r42', in one job of 200 or so) and checking every job holding it against
-- the other trigrams ('exa', 'com', 'use', ... in every email job): work
-- that grows with the table though the answer is five jobs at a million
-- (21 ms at 1M jobs, 264 ms at 10M, against 2 ms at 10k).
--
-- jobq_search_words(body)   the words of a search body (maximal runs of
--                           letters and digits, lower-cased as ILIKE
--                           compares) as lexemes, each also reversed behind
--                           a '~' (so "ends with" is a prefix match); the
--                           lone lexeme '~' when some word is too long to
--                           index (over 1,000 bytes) or all of them too
--                           long together (over 250 kB): such a body is a candidate
--                           for every word search. NULL for a body without
--                           words (no word search can find it: its term
--                           has a letter or digit).
-- jobq_search_query(term)   the words a term's matches must contain: a
--                           word with a separator on both sides in the term
--                           is a whole word of the matching value ('example'),
--                           the first one ends a word ('~2424resu':*), the
--                           last one starts one ('com':*). The query takes
--                           the whole words and the longer of the two ends
--                           (a prefix match reads every posting of every
--                           lexeme it covers: 'com':* is half the table),
--                           OR '~'. NULL when the term has no such word (no
--                           separator: 'user4242' may be inside a word):
--                           the search uses the trigrams then.
-- job_search_words_idx      GIN over jobq_search_words(body). The words
--                           only narrow the search: a row they find is
--                           still tested with the same ILIKE, so a search
--                           finds exactly what the trigram search finds.
--
-- Both functions split and lower-case in the database, with its collation,
-- exactly as ILIKE compares, so a value containing the term contains its
-- words as the query says.
CREATE FUNCTION jobq_search_words(body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (
  SELECT CASE
    WHEN max(octet_length(w)) > 1000 OR sum(octet_length(w)) > 250000 THEN '''~'''::tsvector
    ELSE array_to_tsvector(array_agg(w) || array_agg('~' || reverse(w)))
  END
  FROM regexp_split_to_table(lower(body), '[^[:alnum:]]+') AS w
  WHERE w <> ''
);

CREATE FUNCTION jobq_search_query(term text) RETURNS tsquery
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (
  WITH part AS (
    SELECT w, i, count(*) OVER () AS n
    FROM regexp_split_to_table(lower(term), '[^[:alnum:]]+') WITH ORDINALITY AS p (w, i)
  ), used AS (
    SELECT CASE WHEN i = 1 THEN '''~' || reverse(w) || ''':*'
                WHEN i = n THEN '''' || w || ''':*'
                ELSE '''' || w || '''' END AS lexeme,
           i
    FROM part
    WHERE n > 1 AND w <> '' AND octet_length(w) <= 1000
        AND (i NOT IN (1, n) OR i = (
        SELECT e.i FROM part e
        WHERE e.i IN (1, e.n) AND e.w <> '' AND octet_length(e.w) <= 1000
        ORDER BY length(e.w) DESC, e.i LIMIT 1))
  )
  SELECT ('(' || string_agg(lexeme, ' & ' ORDER BY i) || ') | ''~''')::tsquery FROM used
);

CREATE INDEX job_search_words_idx ON job_search USING gin (jobq_search_words(body));
