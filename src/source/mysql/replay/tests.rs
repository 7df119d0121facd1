use super::*;

#[test]
fn filter_keeps_one_database_without_create_and_use() {
    let dump = "-- MariaDB dump\n/*!40101 SET NAMES utf8mb4 */;\n--\n-- Current Database: `shop`\n--\n\nCREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop`;\n\nUSE `shop`;\nCREATE TABLE `t` (id int);\nINSERT INTO `t` VALUES (1);\n--\n-- Current Database: `other`\n--\nCREATE DATABASE `other`;\nUSE `other`;\nCREATE TABLE `o` (id int);\n--\n-- Current Database: `shop`\n--\nUSE `shop`;\nCREATE VIEW `v` AS select 1;\n";
    let mut out = Vec::new();
    let mut f = DatabaseFilter::new(&mut out, "shop");
    // Written in awkward pieces, as blobs arrive.
    for chunk in dump.as_bytes().chunks(7) {
        f.write_all(chunk).unwrap();
    }
    f.into_inner().unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("SET NAMES")
            && text.contains("CREATE TABLE `t`")
            && text.contains("CREATE VIEW `v`"),
        "{text}"
    );
    assert!(
        !text.contains("CREATE DATABASE") && !text.contains("USE `") && !text.contains("`o`"),
        "{text}"
    );
}
