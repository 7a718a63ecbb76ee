"""Forms of the customer self-service pages: find an order, start a return.

They only parse and check the shape of the input; returns.services decides
what may be returned (and writes nothing when it refuses)."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.models import Warehouse
from orders.models import OrderLine

from .models import ReturnLine, ReturnRequest
from .services import ReturnLineInput

MAX_ORDER_NUMBER_DIGITS = 12  # well inside a bigint, so a long number is a form error, not a 500

# What the customer reads for each reason (the model's labels are not translated).
REASON_LABELS = {
    ReturnLine.Reason.DAMAGED: _("Arrived damaged"),
    ReturnLine.Reason.DEFECTIVE: _("Defective"),
    ReturnLine.Reason.WRONG_ITEM: _("Wrong item sent"),
    ReturnLine.Reason.NOT_AS_DESCRIBED: _("Not as described"),
    ReturnLine.Reason.SIZE_FIT: _("Size or fit"),
    ReturnLine.Reason.NO_LONGER_NEEDED: _("No longer needed"),
    ReturnLine.Reason.ARRIVED_LATE: _("Arrived too late"),
    ReturnLine.Reason.OTHER: _("Other reason"),
}
RESOLUTION_LABELS = {
    ReturnRequest.Resolution.REFUND: _("Refund to my original payment"),
    ReturnRequest.Resolution.EXCHANGE: _("Exchange: send me the same item again"),
}


class LookupForm(forms.Form):
    order_number = forms.CharField(
        label=_("Order number"),
        max_length=20,
        help_text=_("As in your order confirmation e-mail, e.g. 00001234."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_("The address you ordered with."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, label_suffix="", **kwargs)

    def clean_order_number(self) -> int:
        raw = self.cleaned_data["order_number"].strip().lstrip("#").strip()
        if not raw.isascii() or not raw.isdigit() or len(raw.lstrip("0")) > MAX_ORDER_NUMBER_DIGITS:
            raise forms.ValidationError(_("Enter the order number in digits only, e.g. 00001234."))
        return int(raw)


@dataclass(frozen=True)
class ReturnableLine:
    line: OrderLine
    left: int  # shipped units not already in a return
    final_sale: bool  # the policy excludes it (shown as a hint; the service decides)


@dataclass(frozen=True)
class LineRow:
    """One row of the return form: an order line with its two fields."""

    item: ReturnableLine
    quantity: forms.BoundField
    reason: forms.BoundField


class ReturnStartForm(forms.Form):
    """Per returnable line a quantity (0 .. what can still be returned) and a
    reason; then refund or exchange, the return location and a note."""

    resolution = forms.ChoiceField(
        label=_("What would you like?"),
        choices=list(RESOLUTION_LABELS.items()),
        initial=ReturnRequest.Resolution.REFUND,
        widget=forms.RadioSelect,
    )
    location = forms.ChoiceField(label=_("Where will you bring or send it?"))
    note = forms.CharField(
        label=_("Anything we should know? (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(
        self,
        *args,
        lines: list[ReturnableLine],
        locations: list[Warehouse],
        location_optional: bool,
        **kwargs,
    ) -> None:
        super().__init__(*args, label_suffix="", **kwargs)
        self.lines = lines
        choices = [(w.code, f"{w.name}, {w.city}") for w in locations]
        if location_optional:
            choices.insert(0, ("", _("Where it was sent from")))
        self.fields["location"].choices = choices
        self.fields["location"].required = not location_optional
        if choices:
            self.fields["location"].initial = choices[0][0]
        reasons = [("", _("Choose a reason")), *REASON_LABELS.items()]
        for item in lines:
            pk = item.line.pk
            self.fields[f"quantity_{pk}"] = forms.IntegerField(
                label=_("Quantity to return"), min_value=0, max_value=item.left, initial=0, required=False
            )
            self.fields[f"reason_{pk}"] = forms.ChoiceField(
                label=_("Reason"), choices=reasons, required=False
            )

    @property
    def rows(self) -> list[LineRow]:
        return [
            LineRow(
                item=item, quantity=self[f"quantity_{item.line.pk}"], reason=self[f"reason_{item.line.pk}"]
            )
            for item in self.lines
        ]

    def clean(self) -> dict:
        data = super().clean()
        chosen = 0
        for item in self.lines:
            pk = item.line.pk
            quantity = data.get(f"quantity_{pk}") or 0
            if quantity and not data.get(f"reason_{pk}"):
                self.add_error(f"reason_{pk}", _("Tell us why you return it."))
            chosen += quantity
        if not chosen and not any(f"quantity_{item.line.pk}" in self.errors for item in self.lines):
            raise forms.ValidationError(_("Choose at least one item to return."))
        return data

    def line_inputs(self) -> tuple[list[ReturnLineInput], list[str]]:
        """The lines for returns.services.return_request, and per line the
        name of the form field that holds its quantity (to place its errors)."""
        inputs, fields = [], []
        for item in self.lines:
            pk = item.line.pk
            quantity = self.cleaned_data.get(f"quantity_{pk}") or 0
            if quantity:
                inputs.append(
                    ReturnLineInput(
                        order_line_id=pk, quantity=quantity, reason=self.cleaned_data[f"reason_{pk}"]
                    )
                )
                fields.append(f"quantity_{pk}")
        return inputs, fields
