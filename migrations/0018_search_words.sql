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
--                           compares), each reversed (so "ends with", the
--                           one thing a term's first word says, is a prefix
--                           match); the lone lexeme '~' (never a word) when
--                           some word is too long to index (over 500
--                           characters) or the body too long (over 500 kB):
--                           such a body is a candidate for every word
--                           search. One expression, no subquery, so that
--                           the index and the queries inline it alike.
-- jobq_search_query(term)   the words a term's matches must hold: a word
--                           with a separator on both sides in the term is a
--                           whole word of the matching value (exact:
--                           'elpmaxe'), the first one ends one (a prefix of
--                           the reversed words: '2424resu':*), OR '~'. The
--                           last word only starts one: not looked up. A
--                           first word of one or two characters is left out
--                           when the term has a whole word (a prefix that
--                           short reads the postings of a good share of
--                           all words). NULL when the term has none of
--                           these (no separator after a word: 'user4242'
--                           may lie inside a longer word): the search uses
--                           the trigrams then.
-- job_search_words_idx      GIN over jobq_search_words(body). The words
--                           only narrow the search: a row they find is
--                           still tested with the same ILIKE, so a search
--                           finds exactly what the trigram search finds.
--
-- Both functions split and lower-case in the database, with its collation,
-- exactly as ILIKE compares, so a value containing the term holds its
-- words as the query says. Reversed words only, not forward ones too: each
-- direction about doubles what the index adds to the search indexer's
-- insert (13 -> 27 us a job).
CREATE FUNCTION jobq_search_words(body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
  WHEN octet_length(body) > 500000
    OR (octet_length(body) > 500 AND lower(body) ~ '[[:alnum:]]{250}[[:alnum:]]{251}')
    THEN '''~'''::tsvector
  ELSE array_to_tsvector(array_remove(
    string_to_array(reverse(regexp_replace(lower(body), '[^[:alnum:]]+', ' ', 'g')), ' '), ''))
END;

CREATE FUNCTION jobq_search_query(term text) RETURNS tsquery
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (
  WITH part AS (
    SELECT reverse(w) AS r, i, count(*) OVER () AS n
    FROM regexp_split_to_table(lower(term), '[^[:alnum:]]+') WITH ORDINALITY AS p (w, i)
  ), whole AS (
    SELECT '''' || r || '''' AS lexeme, i FROM part WHERE i > 1 AND i < n AND r <> ''
  ), used AS (
    SELECT lexeme, i FROM whole
    UNION ALL
    SELECT '''' || r || ''':*', i FROM part
    WHERE i = 1 AND n > 1 AND r <> '' AND (length(r) > 2 OR NOT EXISTS (SELECT FROM whole))
  )
  SELECT ('(' || string_agg(lexeme, ' & ' ORDER BY i) || ') | ''~''')::tsquery
  FROM used WHERE octet_length(lexeme) <= 2000
);

CREATE INDEX job_search_words_idx ON job_search USING gin (jobq_search_words(body));

-- jobq_search_word_rows(words)  the search rows holding a term's words
--                           (words: a jobq_search_query), for the list's
--                           search to test with its ILIKE. A function for
--                           its settings and its fence: the planner cannot
--                           estimate a word search's matches (a prefix of a
--                           rare word, OR '~': 150,000 of 10 million guessed
--                           for 48, with the statistics), and on that guess
--                           it compiled the search with JIT (100 ms) or ran
--                           it on parallel workers (40 ms to start them)
--                           around a 1 ms index scan; nor may it add the
--                           trigram index to the scan (a BitmapAnd reading
--                           the very posting lists the words avoid).
CREATE FUNCTION jobq_search_word_rows(words tsquery) RETURNS SETOF job_search
LANGUAGE sql STABLE STRICT PARALLEL SAFE ROWS 100
SET jit = off SET max_parallel_workers_per_gather = 0
AS $$ SELECT * FROM job_search WHERE jobq_search_words(body) @@ words $$;

-- The statistics of the new expression now, not at autovacuum's next
-- analyze of a large table.
ANALYZE job_search;
