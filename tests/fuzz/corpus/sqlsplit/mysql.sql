SELECT 'a\';b', "c\";d"; # x ; y
SELECT `e;``f`; SELECT 1
