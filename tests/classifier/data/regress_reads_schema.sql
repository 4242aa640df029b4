-- Tables for tests/classifier/data/regress_reads.tsv: the regression suite's own
-- names and types, a few rows each (tests/classifier/test_scan_sure_servers.py).
CREATE TABLE point_tbl (f1 point); INSERT INTO point_tbl VALUES ('(0,0)'), ('(5.1,34.5)'), ('(-10,0)');
CREATE TABLE line_tbl (s line); INSERT INTO line_tbl VALUES ('{0,-1,5}'), ('{1,0,5}'), ('[(1,2),(3,4)]');
CREATE TABLE lseg_tbl (s lseg); INSERT INTO lseg_tbl VALUES ('[(1,2),(3,4)]'), ('[(0,0),(6,6)]');
CREATE TABLE box_tbl (f1 box); INSERT INTO box_tbl VALUES ('(2.0,2.0,0.0,0.0)'), ('(1,2,3,4)');
CREATE TABLE path_tbl (f1 path); INSERT INTO path_tbl VALUES ('[(1,2),(3,4)]'), ('((1,2),(3,4))');
CREATE TABLE polygon_tbl (f1 polygon); INSERT INTO polygon_tbl VALUES ('(2.0,0.0),(2.0,4.0),(0.0,0.0)'), ('(3.0,1.0),(3.0,3.0),(1.0,0.0)');
CREATE TABLE circle_tbl (f1 circle); INSERT INTO circle_tbl VALUES ('<(5,1),3>'), ('<(1,2),100>');
CREATE TABLE xmltest (id int, data xml); INSERT INTO xmltest VALUES (1, '<value>one</value>');
CREATE TABLE emp (name text, age int, salary int); INSERT INTO emp VALUES ('sharon', 25, 1000);
