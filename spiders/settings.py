"""Scrapy settings for koubei's spiders: polite by default.

Forums are shared public spaces: one request at a time per site, a delay with jitter, AutoThrottle
on top, robots.txt obeyed, an honest User-Agent, and retries that back off (honouring Retry-After)
instead of hammering a site that said 429 or 503.
"""

from koubei.pipelines import __version__

BOT_NAME = "koubei"
SPIDER_MODULES = ["koubei.spiders.sites"]
NEWSPIDER_MODULE = "koubei.spiders.sites"

USER_AGENT = (
    f"koubei/{__version__} (+https://github.com/koubei-listening/koubei; social listening research crawler)"
)
ROBOTSTXT_OBEY = True

CONCURRENT_REQUESTS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
# koubei.spiders.middlewares.BackoffRetryMiddleware: base * 2**attempt, capped; Retry-After wins.
RETRY_BACKOFF_BASE = 2.0
RETRY_BACKOFF_MAX = 120.0

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "koubei.spiders.middlewares.BackoffRetryMiddleware": 550,
    # process_response runs from high to low numbers: see a challenge page before Retry (550) and
    # an over-18 redirect before Redirect (600) follow them.
    "koubei.spiders.middlewares.BlockDetectionMiddleware": 650,
    # Off unless KOUBEI_IMPERSONATE names a browser (see README, Cloudflare).
    "koubei.spiders.middlewares.ImpersonateMiddleware": 700,
}
ITEM_PIPELINES = {
    "koubei.pipelines.item_pipelines.ValidatePipeline": 100,
    "koubei.pipelines.item_pipelines.ParquetStorePipeline": 800,
}

# Where the raw store lives (a path or a pyarrow/fsspec URI); `koubei crawl --out` sets it.
KOUBEI_STORE = "data"
# Threads buffered before each atomic partition write.
KOUBEI_FLUSH_ITEMS = 25

HTTPERROR_ALLOWED_CODES = [404]
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

EXTENSIONS = {"koubei.spiders.extensions.StatsFileExtension": 500}
# Opt-in browser TLS fingerprint for Cloudflare-fronted sites (Dcard, Mobile01): a curl_cffi
# browser name such as "chrome"; needs `pip install scrapy-impersonate`. `koubei crawl --impersonate`.
KOUBEI_IMPERSONATE = None

# Set by `koubei crawl`: where the extension keeps the live stats JSON.
KOUBEI_STATS_FILE = None
