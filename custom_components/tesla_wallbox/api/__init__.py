"""The HTTP side: the /tlwb wallbox API and the go-eCharger compatible endpoint.

Registered once on Home Assistant's own HTTP server, for all entries. tlwb.py and goe.py hold the
views and share only common.py (who is asking, which car, errors as JSON); goe_keys.py and
goe_plan.py are the pure go-e translation; plan.py is the departure plan's view.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN
from .goe import GoeSetView, GoeStatusView, GoeUnknownView
from .plan import PlanView
from .tlwb import CarActionView, CarListView, CarView, UnknownPathView

DATA_VIEWS_REGISTERED: HassKey[bool] = HassKey(f"{DOMAIN}_views")


@callback
def async_register_views(hass: HomeAssistant) -> None:
    """Register the views once, whatever the number of entries."""
    if hass.data.get(DATA_VIEWS_REGISTERED):
        return
    hass.data[DATA_VIEWS_REGISTERED] = True
    hass.http.register_view(CarListView())
    hass.http.register_view(CarView())
    # Before /tlwb/{car}/{action}, which would take /plan for an unknown action.
    hass.http.register_view(PlanView())
    hass.http.register_view(CarActionView())
    hass.http.register_view(GoeStatusView())
    hass.http.register_view(GoeSetView())
    hass.http.register_view(GoeUnknownView())
    # Last: any other path under /tlwb answers JSON too, not aiohttp's plain 404.
    hass.http.register_view(UnknownPathView())
