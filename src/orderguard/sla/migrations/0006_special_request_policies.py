from django.db import migrations

# H5: the steps of a special request after its feasibility check, on working time. The buyer's
# answer keeps its clock running while the case waits on the buyer: an unanswered quote is
# chased, not forgotten.
STEPS = [
    # (step, minutes, pause while waiting)
    ("quote", 60, True),
    ("buyer_confirmation", 240, False),
    ("assign_owner", 60, True),
    ("fulfil", 480, True),
    ("offer_alternative", 240, False),
]


def seed(apps, schema_editor):
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    for step, minutes, pause in STEPS:
        SlaPolicy.objects.get_or_create(
            case_type="T5",
            step=step,
            defaults={"minutes": minutes, "business_hours": True, "pause_while_waiting": pause},
        )


def unseed(apps, schema_editor):
    apps.get_model("sla", "SlaPolicy").objects.filter(
        case_type="T5", step__in=[step for step, _m, _p in STEPS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0005_merchant_decision_policy")]
    operations = [migrations.RunPython(seed, unseed)]
