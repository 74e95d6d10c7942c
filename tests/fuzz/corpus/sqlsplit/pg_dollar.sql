C-- dbroute: no-transaction
CREATE FUNCTION f() RETURNS int AS $$
BEGIN RETURN 1; END
$$ LANGUAGE plpgsql;
SELECT E'a\';b', $t$;$t$ /* /* ; */ */;
