DROP INDEX articles_sitemap;
