# رسالة تأكيد الاشتراك.
# The confirmation mail. $site is the site's name, $hours how long the
# link stays valid.

confirm-mail-subject = أكّد اشتراكك في نشرة { $site }
confirm-mail-intro = طلب أحدهم، وربما أنت، تلقّي نشرة { $site } على هذا العنوان.
confirm-mail-action-text = للتأكيد، افتح هذا الرابط خلال { PLURAL($hours) ->
    [one] ساعة واحدة
    [two] ساعتين
    [few] { $hours } ساعات
   *[other] { $hours } ساعة
}:
confirm-mail-action-html = أكّد اشتراكك
confirm-mail-validity = (الرابط صالح لمدة { PLURAL($hours) ->
    [one] ساعة واحدة
    [two] ساعتين
    [few] { $hours } ساعات
   *[other] { $hours } ساعة
})
confirm-mail-ignore = إن لم تكن أنت صاحب الطلب، فتجاهل هذه الرسالة: لن يُرسَل إليك شيء.
