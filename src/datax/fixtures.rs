//! Test inputs: trimmed copies of the shared DataX fixture jobs
//! (`shared/fixtures/datax-home/job/*.json`), embedded so the unit tests do
//! not depend on where the shared folder is mounted. Kept verbatim: the
//! settings, plugin names, credentials, jdbc URLs, tables and the odd cases
//! (a `querySql` reader without `table`, a file reader without connection);
//! the one long `querySql` is shortened and most `column` lists dropped.

pub const MYSQL2HDFS_USER_EVENT: &str = r#"{
  "job": {
    "setting": {"speed": {"channel": 3}, "errorLimit": {"record": 100}},
    "content": [{
      "reader": {"name": "mysqlreader", "parameter": {
        "username": "dx_reader", "password": "Fx7!reader-2026",
        "connection": [{
          "querySql": ["select e.id, e.user_id from user_event e"],
          "jdbcUrl": ["jdbc:mysql://trade-db-replica.example:3306/app_log?useUnicode=true&characterEncoding=utf8&useCursorFetch=true&defaultFetchSize=1000"]
        }]
      }},
      "writer": {"name": "hdfswriter", "parameter": {
        "defaultFS": "hdfs://nameservice1",
        "hadoopConfig": {"dfs.nameservices": "nameservice1", "dfs.ha.namenodes.nameservice1": "nn1,nn2"},
        "path": "/user/hive/warehouse/ods.db/ods_user_event_daily",
        "writeMode": "truncate"
      }}
    }]
  }
}"#;

pub const MYSQL2MYSQL_INCR: &str = r#"{
  "job": {
    "setting": {"speed": {"channel": 2, "byte": 10485760}, "errorLimit": {"record": 0, "percentage": 0.01}},
    "content": [{
      "reader": {"name": "mysqlreader", "parameter": {
        "username": "dx_reader", "password": "Fx7!reader-2026",
        "column": ["id", "order_id", "sku_id", "qty", "price", "gmt_create", "gmt_modified"],
        "where": "gmt_modified >= FROM_UNIXTIME(${lastTime}) AND gmt_modified < FROM_UNIXTIME(${currentTime})",
        "connection": [{
          "table": ["trade_order_item"],
          "jdbcUrl": ["jdbc:mysql://trade-db.example:3306/${srcDb}?useUnicode=true&characterEncoding=utf8&useSSL=false"]
        }]
      }},
      "writer": {"name": "mysqlwriter", "parameter": {
        "username": "dx_writer", "password": "Fx7!writer-2026", "writeMode": "replace",
        "connection": [{
          "jdbcUrl": "jdbc:mysql://report-dw.example:3306/report_dw?useUnicode=true&characterEncoding=utf8&useSSL=false",
          "table": ["${targetTable}"]
        }]
      }}
    }]
  }
}"#;

pub const MYSQL2MYSQL_ORDERS: &str = r#"{
  "job": {
    "setting": {"speed": {"channel": 4}, "errorLimit": {"record": 0, "percentage": 0.02}},
    "content": [{
      "reader": {"name": "mysqlreader", "parameter": {
        "username": "dx_reader", "password": "Fx7!reader-2026",
        "column": ["id", "order_no", "customer_id", "status", "total_amount", "currency", "created_at", "updated_at"],
        "connection": [{
          "table": ["orders"],
          "jdbcUrl": ["jdbc:mysql://trade-db.example:3306/shop_oltp?useUnicode=true&characterEncoding=utf8&zeroDateTimeBehavior=convertToNull&useSSL=false"]
        }]
      }},
      "writer": {"name": "mysqlwriter", "parameter": {
        "username": "dx_writer", "password": "Fx7!writer-2026", "writeMode": "replace",
        "preSql": ["delete from @table where created_at < date_sub(curdate(), interval 400 day)"],
        "connection": [{
          "jdbcUrl": "jdbc:mysql://report-dw.example:3306/report_dw?useUnicode=true&characterEncoding=utf8&useSSL=false",
          "table": ["orders_mirror"]
        }]
      }}
    }]
  }
}"#;

pub const ORACLE2MYSQL_CUSTOMER: &str = r#"{
  "job": {
    "setting": {"speed": {"channel": 2}, "errorLimit": {"record": 0}},
    "content": [{
      "reader": {"name": "oraclereader", "parameter": {
        "username": "ERP_RO", "password": "Ora#ro2026",
        "connection": [{
          "table": ["ERP.T_CUSTOMER"],
          "jdbcUrl": ["jdbc:oracle:thin:@//crm-ora.example:1521/ERPPDB"]
        }]
      }},
      "writer": {"name": "mysqlwriter", "parameter": {
        "username": "dx_writer", "password": "Fx7!writer-2026", "writeMode": "update",
        "connection": [{
          "jdbcUrl": "jdbc:mysql://report-dw.example:3306/crm_dw?useUnicode=true&characterEncoding=utf8&useSSL=false",
          "table": ["dim_customer"]
        }]
      }}
    }]
  }
}"#;

pub const PG2MYSQL_INVOICE: &str = r#"{
  "job": {
    "setting": {"speed": {"channel": 2}, "errorLimit": {"record": 0, "percentage": 0.0}},
    "content": [{
      "reader": {"name": "postgresqlreader", "parameter": {
        "username": "billing_ro", "password": "Pg!billing_ro_26",
        "connection": [{
          "table": ["public.invoice"],
          "jdbcUrl": ["jdbc:postgresql://billing-pg.example:5432/billing"]
        }]
      }},
      "writer": {"name": "mysqlwriter", "parameter": {
        "username": "dx_writer", "password": "Fx7!writer-2026", "writeMode": "insert",
        "connection": [{
          "jdbcUrl": "jdbc:mysql://report-dw.example:3306/finance_dw?useUnicode=true&characterEncoding=utf8&useSSL=false",
          "table": ["invoice_snapshot"]
        }]
      }}
    }]
  }
}"#;

pub const TXT2MYSQL_STORE: &str = r#"{
  "job": {
    "setting": {"speed": {"channel": 1}, "errorLimit": {"record": 10}},
    "content": [{
      "reader": {"name": "txtfilereader", "parameter": {
        "path": ["/data/exchange/inbound/store_master_*.csv"], "encoding": "GBK", "skipHeader": true
      }},
      "writer": {"name": "mysqlwriter", "parameter": {
        "username": "dx_writer", "password": "Fx7!writer-2026", "writeMode": "replace",
        "connection": [{
          "jdbcUrl": "jdbc:mysql://report-dw.example:3306/retail_dw?useUnicode=true&characterEncoding=utf8&useSSL=false",
          "table": ["dim_store"]
        }]
      }}
    }]
  }
}"#;
