"""Program automation: a front-end on the VTN core that publishes events by itself.

- Grid areas (`areas`): a neighbourhood, feeder or substation with an import and export capacity;
  its members are the ven and resource objects granted the area's name as an OpenADR target, so a
  3.1, 3.0.1 or 2.0b VEN receives area events through the targeting it already understands.
- Price programs (`prices`): a day-ahead price file becomes that day's PRICE event of a program.
- Capacity programs (`capacity`, `capacity_job`): an area's load forecast crossing its capacity
  becomes an IMPORT_CAPACITY_LIMIT event targeted at the area, with a price incentive to shift.
- The scheduler (`scheduler`): runs the jobs of the VTN config once per day across processes.
- Verification (`verification`): baseline, actual and delivered change per resource, VEN and area.

Everything here calls the core (vtn/core) only: events are written through `Core.run`, so
subscribers are notified and caches invalidated as for any other write. See docs/programs.md.
"""
