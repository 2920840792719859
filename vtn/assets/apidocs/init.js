// Starts Swagger UI on the API docs page (vtn/apidocs.py). A file of its own, not an inline script,
// so that the page's Content-Security-Policy can forbid inline and foreign scripts.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // The default sends the document to an online validator: nothing leaves this VTN.
    validatorUrl: null,
    tryItOutEnabled: false,
  });
});
