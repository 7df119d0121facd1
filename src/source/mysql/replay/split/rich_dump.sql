/*M!999999\- enable the sandbox mode */ 
-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: localhost    Database: rich
-- ------------------------------------------------------
-- Server version	10.11.19-MariaDB-0+deb12u1-log

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;

--
-- Alternately, following is the position of the binary logging from SHOW MASTER STATUS at point of backup.
-- Use this when creating a slave of the master server where the backup was made.
-- The new server will be connecting to the master server where the backup was taken.
--

-- CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000001', MASTER_LOG_POS=14171;

-- A corresponding to the above master-data CHANGE-MASTER settings to the slave gtid state is printed as comments later in the file.

--
-- Current Database: `rich`
--

CREATE DATABASE /*!32312 IF NOT EXISTS*/ `rich` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci */;

USE `rich`;

--
-- Table structure for table `audit`
--

DROP TABLE IF EXISTS `audit`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `audit` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `order_id` int(11) DEFAULT NULL,
  `at` datetime(6) DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=518 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `audit`
--

LOCK TABLES `audit` WRITE;
/*!40000 ALTER TABLE `audit` DISABLE KEYS */;
INSERT INTO `audit` VALUES
(1,1,'2026-11-24 10:00:00.123456'),
(2,2,'2026-11-24 11:00:00.000001'),
(3,3,'2026-11-24 12:00:00.000000'),
(4,4,'2026-12-02 04:41:44.609213'),
(5,5,'2026-11-24 13:00:00.000000'),
(6,6,'2026-11-24 13:00:01.000000'),
(7,1,'2026-11-25 00:00:00.000000'),
(8,2,'2026-11-25 00:00:00.000000'),
(9,3,'2026-11-25 00:00:00.000000'),
(10,4,'2026-11-25 00:00:00.000000'),
(11,5,'2026-11-25 00:00:00.000000'),
(12,6,'2026-11-25 00:00:00.000000'),
(13,7,'2026-11-25 00:00:00.000000'),
(14,8,'2026-11-25 00:00:00.000000'),
(15,9,'2026-11-25 00:00:00.000000'),
(16,10,'2026-11-25 00:00:00.000000'),
(17,11,'2026-11-25 00:00:00.000000'),
(18,12,'2026-11-25 00:00:00.000000'),
(19,13,'2026-11-25 00:00:00.000000'),
(20,14,'2026-11-25 00:00:00.000000'),
(21,15,'2026-11-25 00:00:00.000000'),
(22,16,'2026-11-25 00:00:00.000000'),
(23,17,'2026-11-25 00:00:00.000000'),
(24,18,'2026-11-25 00:00:00.000000'),
(25,19,'2026-11-25 00:00:00.000000'),
(26,20,'2026-11-25 00:00:00.000000'),
(27,21,'2026-11-25 00:00:00.000000'),
(28,22,'2026-11-25 00:00:00.000000'),
(29,23,'2026-11-25 00:00:00.000000'),
(30,24,'2026-11-25 00:00:00.000000'),
(31,25,'2026-11-25 00:00:00.000000'),
(32,26,'2026-11-25 00:00:00.000000'),
(33,27,'2026-11-25 00:00:00.000000'),
(34,28,'2026-11-25 00:00:00.000000'),
(35,29,'2026-11-25 00:00:00.000000'),
(36,30,'2026-11-25 00:00:00.000000'),
(37,31,'2026-11-25 00:00:00.000000'),
(38,32,'2026-11-25 00:00:00.000000'),
(39,33,'2026-11-25 00:00:00.000000'),
(40,34,'2026-11-25 00:00:00.000000'),
(41,35,'2026-11-25 00:00:00.000000'),
(42,36,'2026-11-25 00:00:00.000000'),
(43,37,'2026-11-25 00:00:00.000000'),
(44,38,'2026-11-25 00:00:00.000000'),
(45,39,'2026-11-25 00:00:00.000000'),
(46,40,'2026-11-25 00:00:00.000000'),
(47,41,'2026-11-25 00:00:00.000000'),
(48,42,'2026-11-25 00:00:00.000000'),
(49,43,'2026-11-25 00:00:00.000000'),
(50,44,'2026-11-25 00:00:00.000000'),
(51,45,'2026-11-25 00:00:00.000000'),
(52,46,'2026-11-25 00:00:00.000000'),
(53,47,'2026-11-25 00:00:00.000000'),
(54,48,'2026-11-25 00:00:00.000000'),
(55,49,'2026-11-25 00:00:00.000000'),
(56,50,'2026-11-25 00:00:00.000000'),
(57,51,'2026-11-25 00:00:00.000000'),
(58,52,'2026-11-25 00:00:00.000000'),
(59,53,'2026-11-25 00:00:00.000000'),
(60,54,'2026-11-25 00:00:00.000000'),
(61,55,'2026-11-25 00:00:00.000000'),
(62,56,'2026-11-25 00:00:00.000000'),
(63,57,'2026-11-25 00:00:00.000000'),
(64,58,'2026-11-25 00:00:00.000000'),
(65,59,'2026-11-25 00:00:00.000000'),
(66,60,'2026-11-25 00:00:00.000000'),
(67,61,'2026-11-25 00:00:00.000000'),
(68,62,'2026-11-25 00:00:00.000000'),
(69,63,'2026-11-25 00:00:00.000000'),
(70,64,'2026-11-25 00:00:00.000000'),
(71,65,'2026-11-25 00:00:00.000000'),
(72,66,'2026-11-25 00:00:00.000000'),
(73,67,'2026-11-25 00:00:00.000000'),
(74,68,'2026-11-25 00:00:00.000000'),
(75,69,'2026-11-25 00:00:00.000000'),
(76,70,'2026-11-25 00:00:00.000000'),
(77,71,'2026-11-25 00:00:00.000000'),
(78,72,'2026-11-25 00:00:00.000000'),
(79,73,'2026-11-25 00:00:00.000000'),
(80,74,'2026-11-25 00:00:00.000000'),
(81,75,'2026-11-25 00:00:00.000000'),
(82,76,'2026-11-25 00:00:00.000000'),
(83,77,'2026-11-25 00:00:00.000000'),
(84,78,'2026-11-25 00:00:00.000000'),
(85,79,'2026-11-25 00:00:00.000000'),
(86,80,'2026-11-25 00:00:00.000000'),
(87,81,'2026-11-25 00:00:00.000000'),
(88,82,'2026-11-25 00:00:00.000000'),
(89,83,'2026-11-25 00:00:00.000000'),
(90,84,'2026-11-25 00:00:00.000000'),
(91,85,'2026-11-25 00:00:00.000000'),
(92,86,'2026-11-25 00:00:00.000000'),
(93,87,'2026-11-25 00:00:00.000000'),
(94,88,'2026-11-25 00:00:00.000000'),
(95,89,'2026-11-25 00:00:00.000000'),
(96,90,'2026-11-25 00:00:00.000000'),
(97,91,'2026-11-25 00:00:00.000000'),
(98,92,'2026-11-25 00:00:00.000000'),
(99,93,'2026-11-25 00:00:00.000000'),
(100,94,'2026-11-25 00:00:00.000000'),
(101,95,'2026-11-25 00:00:00.000000'),
(102,96,'2026-11-25 00:00:00.000000'),
(103,97,'2026-11-25 00:00:00.000000'),
(104,98,'2026-11-25 00:00:00.000000'),
(105,99,'2026-11-25 00:00:00.000000'),
(106,100,'2026-11-25 00:00:00.000000'),
(107,101,'2026-11-25 00:00:00.000000');
INSERT INTO `audit` VALUES
(108,102,'2026-11-25 00:00:00.000000'),
(109,103,'2026-11-25 00:00:00.000000'),
(110,104,'2026-11-25 00:00:00.000000'),
(111,105,'2026-11-25 00:00:00.000000'),
(112,106,'2026-11-25 00:00:00.000000'),
(113,107,'2026-11-25 00:00:00.000000'),
(114,108,'2026-11-25 00:00:00.000000'),
(115,109,'2026-11-25 00:00:00.000000'),
(116,110,'2026-11-25 00:00:00.000000'),
(117,111,'2026-11-25 00:00:00.000000'),
(118,112,'2026-11-25 00:00:00.000000'),
(119,113,'2026-11-25 00:00:00.000000'),
(120,114,'2026-11-25 00:00:00.000000'),
(121,115,'2026-11-25 00:00:00.000000'),
(122,116,'2026-11-25 00:00:00.000000'),
(123,117,'2026-11-25 00:00:00.000000'),
(124,118,'2026-11-25 00:00:00.000000'),
(125,119,'2026-11-25 00:00:00.000000'),
(126,120,'2026-11-25 00:00:00.000000'),
(127,121,'2026-11-25 00:00:00.000000'),
(128,122,'2026-11-25 00:00:00.000000'),
(129,123,'2026-11-25 00:00:00.000000'),
(130,124,'2026-11-25 00:00:00.000000'),
(131,125,'2026-11-25 00:00:00.000000'),
(132,126,'2026-11-25 00:00:00.000000'),
(133,127,'2026-11-25 00:00:00.000000'),
(134,128,'2026-11-25 00:00:00.000000'),
(135,129,'2026-11-25 00:00:00.000000'),
(136,130,'2026-11-25 00:00:00.000000'),
(137,131,'2026-11-25 00:00:00.000000'),
(138,132,'2026-11-25 00:00:00.000000'),
(139,133,'2026-11-25 00:00:00.000000'),
(140,134,'2026-11-25 00:00:00.000000'),
(141,135,'2026-11-25 00:00:00.000000'),
(142,136,'2026-11-25 00:00:00.000000'),
(143,137,'2026-11-25 00:00:00.000000'),
(144,138,'2026-11-25 00:00:00.000000'),
(145,139,'2026-11-25 00:00:00.000000'),
(146,140,'2026-11-25 00:00:00.000000'),
(147,141,'2026-11-25 00:00:00.000000'),
(148,142,'2026-11-25 00:00:00.000000'),
(149,143,'2026-11-25 00:00:00.000000'),
(150,144,'2026-11-25 00:00:00.000000'),
(151,145,'2026-11-25 00:00:00.000000'),
(152,146,'2026-11-25 00:00:00.000000'),
(153,147,'2026-11-25 00:00:00.000000'),
(154,148,'2026-11-25 00:00:00.000000'),
(155,149,'2026-11-25 00:00:00.000000'),
(156,150,'2026-11-25 00:00:00.000000'),
(157,151,'2026-11-25 00:00:00.000000'),
(158,152,'2026-11-25 00:00:00.000000'),
(159,153,'2026-11-25 00:00:00.000000'),
(160,154,'2026-11-25 00:00:00.000000'),
(161,155,'2026-11-25 00:00:00.000000'),
(162,156,'2026-11-25 00:00:00.000000'),
(163,157,'2026-11-25 00:00:00.000000'),
(164,158,'2026-11-25 00:00:00.000000'),
(165,159,'2026-11-25 00:00:00.000000'),
(166,160,'2026-11-25 00:00:00.000000'),
(167,161,'2026-11-25 00:00:00.000000'),
(168,162,'2026-11-25 00:00:00.000000'),
(169,163,'2026-11-25 00:00:00.000000'),
(170,164,'2026-11-25 00:00:00.000000'),
(171,165,'2026-11-25 00:00:00.000000'),
(172,166,'2026-11-25 00:00:00.000000'),
(173,167,'2026-11-25 00:00:00.000000'),
(174,168,'2026-11-25 00:00:00.000000'),
(175,169,'2026-11-25 00:00:00.000000'),
(176,170,'2026-11-25 00:00:00.000000'),
(177,171,'2026-11-25 00:00:00.000000'),
(178,172,'2026-11-25 00:00:00.000000'),
(179,173,'2026-11-25 00:00:00.000000'),
(180,174,'2026-11-25 00:00:00.000000'),
(181,175,'2026-11-25 00:00:00.000000'),
(182,176,'2026-11-25 00:00:00.000000'),
(183,177,'2026-11-25 00:00:00.000000'),
(184,178,'2026-11-25 00:00:00.000000'),
(185,179,'2026-11-25 00:00:00.000000'),
(186,180,'2026-11-25 00:00:00.000000'),
(187,181,'2026-11-25 00:00:00.000000'),
(188,182,'2026-11-25 00:00:00.000000'),
(189,183,'2026-11-25 00:00:00.000000'),
(190,184,'2026-11-25 00:00:00.000000'),
(191,185,'2026-11-25 00:00:00.000000'),
(192,186,'2026-11-25 00:00:00.000000'),
(193,187,'2026-11-25 00:00:00.000000'),
(194,188,'2026-11-25 00:00:00.000000'),
(195,189,'2026-11-25 00:00:00.000000'),
(196,190,'2026-11-25 00:00:00.000000'),
(197,191,'2026-11-25 00:00:00.000000'),
(198,192,'2026-11-25 00:00:00.000000'),
(199,193,'2026-11-25 00:00:00.000000'),
(200,194,'2026-11-25 00:00:00.000000'),
(201,195,'2026-11-25 00:00:00.000000'),
(202,196,'2026-11-25 00:00:00.000000'),
(203,197,'2026-11-25 00:00:00.000000'),
(204,198,'2026-11-25 00:00:00.000000'),
(205,199,'2026-11-25 00:00:00.000000'),
(206,200,'2026-11-25 00:00:00.000000'),
(207,201,'2026-11-25 00:00:00.000000'),
(208,202,'2026-11-25 00:00:00.000000');
INSERT INTO `audit` VALUES
(209,203,'2026-11-25 00:00:00.000000'),
(210,204,'2026-11-25 00:00:00.000000'),
(211,205,'2026-11-25 00:00:00.000000'),
(212,206,'2026-11-25 00:00:00.000000'),
(213,207,'2026-11-25 00:00:00.000000'),
(214,208,'2026-11-25 00:00:00.000000'),
(215,209,'2026-11-25 00:00:00.000000'),
(216,210,'2026-11-25 00:00:00.000000'),
(217,211,'2026-11-25 00:00:00.000000'),
(218,212,'2026-11-25 00:00:00.000000'),
(219,213,'2026-11-25 00:00:00.000000'),
(220,214,'2026-11-25 00:00:00.000000'),
(221,215,'2026-11-25 00:00:00.000000'),
(222,216,'2026-11-25 00:00:00.000000'),
(223,217,'2026-11-25 00:00:00.000000'),
(224,218,'2026-11-25 00:00:00.000000'),
(225,219,'2026-11-25 00:00:00.000000'),
(226,220,'2026-11-25 00:00:00.000000'),
(227,221,'2026-11-25 00:00:00.000000'),
(228,222,'2026-11-25 00:00:00.000000'),
(229,223,'2026-11-25 00:00:00.000000'),
(230,224,'2026-11-25 00:00:00.000000'),
(231,225,'2026-11-25 00:00:00.000000'),
(232,226,'2026-11-25 00:00:00.000000'),
(233,227,'2026-11-25 00:00:00.000000'),
(234,228,'2026-11-25 00:00:00.000000'),
(235,229,'2026-11-25 00:00:00.000000'),
(236,230,'2026-11-25 00:00:00.000000'),
(237,231,'2026-11-25 00:00:00.000000'),
(238,232,'2026-11-25 00:00:00.000000'),
(239,233,'2026-11-25 00:00:00.000000'),
(240,234,'2026-11-25 00:00:00.000000'),
(241,235,'2026-11-25 00:00:00.000000'),
(242,236,'2026-11-25 00:00:00.000000'),
(243,237,'2026-11-25 00:00:00.000000'),
(244,238,'2026-11-25 00:00:00.000000'),
(245,239,'2026-11-25 00:00:00.000000'),
(246,240,'2026-11-25 00:00:00.000000'),
(247,241,'2026-11-25 00:00:00.000000'),
(248,242,'2026-11-25 00:00:00.000000'),
(249,243,'2026-11-25 00:00:00.000000'),
(250,244,'2026-11-25 00:00:00.000000'),
(251,245,'2026-11-25 00:00:00.000000'),
(252,246,'2026-11-25 00:00:00.000000'),
(253,247,'2026-11-25 00:00:00.000000'),
(254,248,'2026-11-25 00:00:00.000000'),
(255,249,'2026-11-25 00:00:00.000000'),
(256,250,'2026-11-25 00:00:00.000000'),
(257,251,'2026-11-25 00:00:00.000000'),
(258,252,'2026-11-25 00:00:00.000000'),
(259,253,'2026-11-25 00:00:00.000000'),
(260,254,'2026-11-25 00:00:00.000000'),
(261,255,'2026-11-25 00:00:00.000000'),
(262,256,'2026-11-25 00:00:00.000000'),
(263,257,'2026-11-25 00:00:00.000000'),
(264,258,'2026-11-25 00:00:00.000000'),
(265,259,'2026-11-25 00:00:00.000000'),
(266,260,'2026-11-25 00:00:00.000000'),
(267,261,'2026-11-25 00:00:00.000000'),
(268,262,'2026-11-25 00:00:00.000000'),
(269,263,'2026-11-25 00:00:00.000000'),
(270,264,'2026-11-25 00:00:00.000000'),
(271,265,'2026-11-25 00:00:00.000000'),
(272,266,'2026-11-25 00:00:00.000000'),
(273,267,'2026-11-25 00:00:00.000000'),
(274,268,'2026-11-25 00:00:00.000000'),
(275,269,'2026-11-25 00:00:00.000000'),
(276,270,'2026-11-25 00:00:00.000000'),
(277,271,'2026-11-25 00:00:00.000000'),
(278,272,'2026-11-25 00:00:00.000000'),
(279,273,'2026-11-25 00:00:00.000000'),
(280,274,'2026-11-25 00:00:00.000000'),
(281,275,'2026-11-25 00:00:00.000000'),
(282,276,'2026-11-25 00:00:00.000000'),
(283,277,'2026-11-25 00:00:00.000000'),
(284,278,'2026-11-25 00:00:00.000000'),
(285,279,'2026-11-25 00:00:00.000000'),
(286,280,'2026-11-25 00:00:00.000000'),
(287,281,'2026-11-25 00:00:00.000000'),
(288,282,'2026-11-25 00:00:00.000000'),
(289,283,'2026-11-25 00:00:00.000000'),
(290,284,'2026-11-25 00:00:00.000000'),
(291,285,'2026-11-25 00:00:00.000000'),
(292,286,'2026-11-25 00:00:00.000000'),
(293,287,'2026-11-25 00:00:00.000000'),
(294,288,'2026-11-25 00:00:00.000000'),
(295,289,'2026-11-25 00:00:00.000000'),
(296,290,'2026-11-25 00:00:00.000000'),
(297,291,'2026-11-25 00:00:00.000000'),
(298,292,'2026-11-25 00:00:00.000000'),
(299,293,'2026-11-25 00:00:00.000000'),
(300,294,'2026-11-25 00:00:00.000000'),
(301,295,'2026-11-25 00:00:00.000000'),
(302,296,'2026-11-25 00:00:00.000000'),
(303,297,'2026-11-25 00:00:00.000000'),
(304,298,'2026-11-25 00:00:00.000000'),
(305,299,'2026-11-25 00:00:00.000000'),
(306,300,'2026-11-25 00:00:00.000000');
/*!40000 ALTER TABLE `audit` ENABLE KEYS */;
UNLOCK TABLES;

--
-- Temporary table structure for view `big_orders`
--

DROP TABLE IF EXISTS `big_orders`;
/*!50001 DROP VIEW IF EXISTS `big_orders`*/;
SET @saved_cs_client     = @@character_set_client;
SET character_set_client = utf8mb4;
/*!50001 CREATE VIEW `big_orders` AS SELECT
 NULL AS `id`,
 NULL AS `customer`,
 NULL AS `amount` */;
SET character_set_client = @saved_cs_client;

--
-- Table structure for table `empty_t`
--

DROP TABLE IF EXISTS `empty_t`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `empty_t` (
  `id` int(11) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `empty_t`
--

LOCK TABLES `empty_t` WRITE;
/*!40000 ALTER TABLE `empty_t` DISABLE KEYS */;
/*!40000 ALTER TABLE `empty_t` ENABLE KEYS */;
UNLOCK TABLES;

--
-- Table structure for table `notes`
--

DROP TABLE IF EXISTS `notes`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `notes` (
  `id` int(11) NOT NULL,
  `body` text DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=Aria DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci PAGE_CHECKSUM=1;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `notes`
--

LOCK TABLES `notes` WRITE;
/*!40000 ALTER TABLE `notes` DISABLE KEYS */;
INSERT INTO `notes` VALUES
(1,'-- Dumping data for table `x`'),
(2,'LOCK TABLES `x` WRITE;');
/*!40000 ALTER TABLE `notes` ENABLE KEYS */;
UNLOCK TABLES;
/*!50003 SET @saved_cs_client      = @@character_set_client */ ;
/*!50003 SET @saved_cs_results     = @@character_set_results */ ;
/*!50003 SET @saved_col_connection = @@collation_connection */ ;
/*!50003 SET character_set_client  = utf8mb4 */ ;
/*!50003 SET character_set_results = utf8mb4 */ ;
/*!50003 SET collation_connection  = utf8mb4_general_ci */ ;
/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
/*!50003 SET sql_mode              = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION' */ ;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER notes_bi BEFORE INSERT ON notes FOR EACH ROW
BEGIN
SET NEW.body = CONCAT(NEW.body, ';');
INSERT INTO audit(order_id, at) VALUES (NEW.id, NOW(6));
END 
*/;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;
/*!50003 SET character_set_client  = @saved_cs_client */ ;
/*!50003 SET character_set_results = @saved_cs_results */ ;
/*!50003 SET collation_connection  = @saved_col_connection */ ;

--
-- Table structure for table `orders`
--

DROP TABLE IF EXISTS `orders`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `orders` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `customer` varchar(100) NOT NULL,
  `note` text DEFAULT NULL,
  `amount` decimal(12,4) NOT NULL,
  `created` datetime(6) NOT NULL,
  `payload` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`payload`)),
  `photo` blob DEFAULT NULL,
  `total_cents` bigint(20) GENERATED ALWAYS AS (`amount` * 100) STORED,
  `label` varchar(120) GENERATED ALWAYS AS (concat(`customer`,'#',`id`)) VIRTUAL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `orders`
--

LOCK TABLES `orders` WRITE;
/*!40000 ALTER TABLE `orders` DISABLE KEYS */;
INSERT INTO `orders` VALUES
(1,'张三','订单备注：加急',123.4567,'2026-11-24 10:00:00.123456','{\"tags\": [\"vip\", \"🚀\"]}',0x00FF10,12346,'张三#1'),
(2,'Émilie 😀',NULL,0.0001,'2026-11-24 11:00:00.000001',NULL,NULL,0,'Émilie 😀#2'),
(3,'O\'Brien','tab	here',99999999.9999,'2026-11-24 12:00:00.000000','[]','',10000000000,'O\'Brien#3'),
(4,'李四',NULL,250.5000,'2026-12-02 04:41:44.609213',NULL,NULL,25050,'李四#4'),
(5,'semi;colon','a);\nINSERT INTO x VALUES (1);',1.0000,'2026-11-24 13:00:00.000000',NULL,0x3B0A27,100,'semi;colon#5'),
(6,'quote\'s \"dq\" `bt`','\\',2.0000,'2026-11-24 13:00:01.000000',NULL,NULL,200,'quote\'s \"dq\" `bt`#6');
/*!40000 ALTER TABLE `orders` ENABLE KEYS */;
UNLOCK TABLES;
/*!50003 SET @saved_cs_client      = @@character_set_client */ ;
/*!50003 SET @saved_cs_results     = @@character_set_results */ ;
/*!50003 SET @saved_col_connection = @@collation_connection */ ;
/*!50003 SET character_set_client  = utf8mb4 */ ;
/*!50003 SET character_set_results = utf8mb4 */ ;
/*!50003 SET collation_connection  = utf8mb4_general_ci */ ;
/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
/*!50003 SET sql_mode              = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION' */ ;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit(order_id, at) VALUES (NEW.id, NEW.created) 
*/;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;
/*!50003 SET character_set_client  = @saved_cs_client */ ;
/*!50003 SET character_set_results = @saved_cs_results */ ;
/*!50003 SET collation_connection  = @saved_col_connection */ ;

--
-- Dumping events for database 'rich'
--
/*!50106 SET @save_time_zone= @@TIME_ZONE */ ;
/*!50106 DROP EVENT IF EXISTS `nightly` */;
DELIMITER ;;
/*!50003 SET @saved_cs_client      = @@character_set_client */ ;;
/*!50003 SET @saved_cs_results     = @@character_set_results */ ;;
/*!50003 SET @saved_col_connection = @@collation_connection */ ;;
/*!50003 SET character_set_client  = utf8mb4 */ ;;
/*!50003 SET character_set_results = utf8mb4 */ ;;
/*!50003 SET collation_connection  = utf8mb4_general_ci */ ;;
/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;;
/*!50003 SET sql_mode              = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION' */ ;;
/*!50003 SET @saved_time_zone      = @@time_zone */ ;;
/*!50003 SET time_zone             = 'SYSTEM' */ ;;
/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`localhost`*/ /*!50106 EVENT `nightly` ON SCHEDULE EVERY 1 DAY STARTS '2026-12-02 04:41:44' ON COMPLETION NOT PRESERVE ENABLE DO DELETE FROM audit WHERE at < NOW() - INTERVAL 1 YEAR 
*/ ;;
/*!50003 SET time_zone             = @saved_time_zone */ ;;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;;
/*!50003 SET character_set_client  = @saved_cs_client */ ;;
/*!50003 SET character_set_results = @saved_cs_results */ ;;
/*!50003 SET collation_connection  = @saved_col_connection */ ;;
DELIMITER ;
/*!50106 SET TIME_ZONE= @save_time_zone */ ;

--
-- Dumping routines for database 'rich'
--
/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
/*!50003 SET sql_mode              = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION' */ ;
/*!50003 DROP PROCEDURE IF EXISTS `add_order` */;
/*!50003 SET @saved_cs_client      = @@character_set_client */ ;
/*!50003 SET @saved_cs_results     = @@character_set_results */ ;
/*!50003 SET @saved_col_connection = @@collation_connection */ ;
/*!50003 SET character_set_client  = utf8mb4 */ ;
/*!50003 SET character_set_results = utf8mb4 */ ;
/*!50003 SET collation_connection  = utf8mb4_general_ci */ ;
DELIMITER ;;
CREATE DEFINER=`root`@`localhost` PROCEDURE `add_order`(c VARCHAR(100), a DECIMAL(12,4))
INSERT INTO orders(customer, amount, created) VALUES (c, a, NOW(6))
;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;
/*!50003 SET character_set_client  = @saved_cs_client */ ;
/*!50003 SET character_set_results = @saved_cs_results */ ;
/*!50003 SET collation_connection  = @saved_col_connection */ ;

--
-- Current Database: `rich`
--

USE `rich`;

--
-- Final view structure for view `big_orders`
--

/*!50001 DROP VIEW IF EXISTS `big_orders`*/;
/*!50001 SET @saved_cs_client          = @@character_set_client */;
/*!50001 SET @saved_cs_results         = @@character_set_results */;
/*!50001 SET @saved_col_connection     = @@collation_connection */;
/*!50001 SET character_set_client      = utf8mb4 */;
/*!50001 SET character_set_results     = utf8mb4 */;
/*!50001 SET collation_connection      = utf8mb4_general_ci */;
/*!50001 CREATE ALGORITHM=UNDEFINED */
/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */
/*!50001 VIEW `big_orders` AS select `orders`.`id` AS `id`,`orders`.`customer` AS `customer`,`orders`.`amount` AS `amount` from `orders` where `orders`.`amount` > 100 */;
/*!50001 SET character_set_client      = @saved_cs_client */;
/*!50001 SET character_set_results     = @saved_cs_results */;
/*!50001 SET collation_connection      = @saved_col_connection */;

-- The deferred gtid setting for slave corresponding to the master-data CHANGE-MASTER follows

-- Preferably use GTID to start replication from GTID position:

-- SET GLOBAL gtid_slave_pos='0-1-26';
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

-- Dump completed on 2026-12-02  5:07:23
