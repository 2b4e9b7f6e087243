"""Stages after the crawl (store, enrich, trends, alerts, reports), Scrapy item pipelines and the CLI."""

__version__ = "0.1.0"
