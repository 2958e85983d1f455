"""The site's URLs under /moved/, for a test of links that follow the URLconf."""

from django.urls import include, path

urlpatterns = [path("moved/", include("site_config.urls"))]
