"""The VTN's OpenADR 2.0b simpleHttp (pull) profile over the same store as the 3.1 API.

Mount with `vtn.oadr20b.routes.add_routes(app)`; the protocol logic is in `service.Oadr20bService`.
"""
