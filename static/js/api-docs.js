// Starts Swagger UI on /api/docs from the app's own copy of its files (no CDN, no inline script).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("swagger-ui");
    window.ui = window.SwaggerUIBundle({
      url: container.getAttribute("data-spec-url"),
      domNode: container,
      deepLinking: true,
      persistAuthorization: false,
      tryItOutEnabled: false
    });
  });
})();
